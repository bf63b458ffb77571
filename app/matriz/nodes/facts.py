"""Statements in a text, as facts the recall node can answer from.

Two kinds. What the user says about themselves ("My name is Ada.", "I live in Paris."),
read in the user's own messages only: a file's "my" is its author's. And what anyone says
about a thing ("The launch code is 1234."), read in messages and attached files alike, with
the key-value lines of documents ("Launch code: 1234", `"launch_code": 1234`,
`launch code,1234`, `| Launch code | 1234 |`) read in files. A fact's value is a verbatim
span of its quote, and its quote a verbatim span of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = re.IGNORECASE
_WORD = r"[a-z][a-z0-9'-]*"
# Statements, matched within one sentence. "value" is cut to its clause later; its length is
# bounded so that many statements in one long sentence cost linear, not quadratic, time.
_MY = re.compile(rf"\bmy\s+(?P<key>{_WORD}(?:\s+{_WORD}){{0,3}}?)\s+(?P<verb>is|are)\s+"
                 r"(?P<value>\S.{0,200})", _FLAGS)
_MY_NAME_S = re.compile(r"\bmy\s+name's\s+(?P<value>\S.{0,200})", _FLAGS)
_CALL = re.compile(r"\b(?:call\s+me|I\s+am\s+called|I'm\s+called|I\s+go\s+by)\s+"
                   r"(?P<value>\S.{0,200})", _FLAGS)
_I_AM = re.compile(r"\b(?:I\s+am|I'm)\s+(?P<value>\S.{0,200})", _FLAGS)
_LIVE = re.compile(r"\b(?:I\s+live|I\s+am\s+living|I'm\s+living)\s+(?P<verb>in|at)\s+"
                   r"(?P<value>\S.{0,200})", _FLAGS)
_WORK = re.compile(r"\b(?:I\s+work|I\s+am\s+working|I'm\s+working)\s+(?P<verb>at|for|in|as)\s+"
                   r"(?P<value>\S.{0,200})", _FLAGS)
_THE = re.compile(rf"\bthe\s+(?P<key>{_WORD}(?:\s+{_WORD}){{0,3}}?)\s+(?P<verb>is|are|was|were)"
                  r"\s+(?P<value>\S.{0,200})", _FLAGS)
_ABOUT_USER = (_MY, _MY_NAME_S, _CALL, _I_AM, _LIVE, _WORK)
# A key-value line of a document: "Key: value", "key = value", JSON's `"key": value,`, a
# two-cell CSV row or Markdown table row. A key is one to five words, split at one space,
# underscore or hyphen each, so that there is one way only to read a key (no backtracking
# over the ways to split a long run of words).
_KEY = r"[A-Za-z][A-Za-z0-9']*(?:[ _-][A-Za-z0-9']+){0,4}"
_PAIR = re.compile(
    rf"^\s*(?:[-*+]\s+|\d{{1,3}}[.)]\s+)?[\"'*_`]*(?P<key>{_KEY})[\"'*_`]*\s*[:=]\s*"
    r"(?P<value>[^\s{\[].{0,200})$")
_CELLS = re.compile(
    rf"^\s*\|?\s*\"?(?P<key>{_KEY})\"?\s*[,|]\s*\"?(?P<value>[^\s,|\"][^,|\"]{{0,200}}?)\"?"
    r"\s*\|?\s*$")
# Where a value ends: punctuation, or a new clause ("..., and I live in ...").
_CUT = re.compile(r"[,;:!?()]|\s[-–—]\s|\.(?:\s|$)|\s+(?:and|but|so|or|because|since|while)"
                  r"\s+(?:I|I'm|I've|my|you|your|we|it|it's|that|this|he|she|they)\b"
                  r"|\s+(?:but|because|although|though|since)\b", _FLAGS)
_LEAD = re.compile(r"^(?:(?:actually|now|really|still|just|definitely)\s+)+", _FLAGS)
_TAIL = re.compile(r"(?:\s+(?:now|then|btw|by the way|actually|too|as well|though|anyway|and|"
                   r"or|but|so))+$", _FLAGS)
NOT_IDENTITY = {"not", "so", "very", "also", "just", "really", "still", "here", "back", "from",
                "in", "at", "on", "to", "about", "sure", "sorry", "glad", "happy", "afraid",
                "fine", "good", "ok", "okay", "well", "done", "ready", "called"}
NOT_CALLED = {"back", "later", "tomorrow", "tonight", "when", "if", "at", "on", "any", "anytime",
              "soon", "now", "sometime", "please", "a", "an", "the"}
# Words that make "the X is" no statement about a thing: "the one is", "the same is".
_NOT_A_THING = {"one", "same", "other", "thing", "rest", "problem", "point", "question", "idea"}
_MODIFIERS = {"current", "real", "full", "actual", "present", "new"}
_SPELLING = {"favorite": "favourite", "color": "colour", "colors": "colours"}
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})  # same length, so spans map back
# The user speaking of themselves. "I" alone only as a capital: a lower-case "i" is as often
# a list marker or "i.e.".
FIRST_PERSON = re.compile(r"\b(?:[Ii](?:\s+(?i:am|was)|'(?i:m|ve|d|ll))|I)\b"
                          r"|\b(?i:my|mine|me|myself)\b")
_REFLECTED = {"i am": "you are", "i was": "you were", "i'm": "you're", "i've": "you've",
              "i'd": "you'd", "i'll": "you'll", "i": "you", "my": "your", "mine": "yours",
              "me": "you", "myself": "yourself"}


@dataclass(frozen=True, slots=True)
class Fact:
    topic: str  # "my X" key, "@identity" / "@home" / "@work" / "@job", or "the X" key
    value: str  # verbatim span of the quote
    quote: str  # verbatim span of the turn
    sentence: str  # how the answer states it, value already in place
    index: int  # position of the turn in the history


def user_facts(text: str, index: int) -> list[Fact]:
    """What the user says about themselves and about things, in the order said."""
    return [fact for _, fact in _statements(text, index, (*_ABOUT_USER, _THE), True)]


def document_facts(text: str, index: int) -> list[Fact]:
    """What a file says about things, in statements and key-value lines, in order."""
    found = _statements(text, index, (_THE,), False)
    normal = text.translate(_APOSTROPHES)
    start = 0
    for line in normal.splitlines(keepends=True):
        for pattern in (_PAIR, _CELLS):
            match = pattern.match(line.rstrip("\r\n"))
            if match is not None:
                fact = _pair(match, text[start : start + len(line.rstrip("\r\n"))], index)
                if fact is not None:
                    found.append((start, fact))
                break
        start += len(line)
    found.sort(key=lambda pair: pair[0])
    return [fact for _, fact in found]


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences in a text, surrounding whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in [*re.finditer(r"(?<=[.!?])\s+|\n\s*", text), None]:
        end = len(text) if boundary is None else boundary.start()
        piece = text[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        start = end if boundary is None else boundary.end()
    return spans


def key(words: str) -> str:
    """Normalise what a statement is about, so questions match statements despite wording."""
    parts = [_SPELLING.get(w, w) for w in
             re.sub(r"[_\s-]+", " ", words.lower().translate(_APOSTROPHES)).split()]
    return " ".join(w for w in parts if w not in _MODIFIERS) or " ".join(parts)


def reflect(text: str) -> str:
    """Restate the user's words from the assistant's side: "I am" -> "you are", "my" -> "your"."""

    def swap(match: re.Match[str]) -> str:
        said = match.group(0)
        return _REFLECTED.get(" ".join(said.lower().split()), said)

    return FIRST_PERSON.sub(swap, text.translate(_APOSTROPHES))


def _statements(text: str, index: int, patterns: tuple[re.Pattern[str], ...],
                reflect_values: bool) -> list[tuple[int, Fact]]:
    """The statements in a text, each with where it starts."""
    normal = text.translate(_APOSTROPHES)
    found: list[tuple[int, Fact]] = []
    for start, end in sentences(normal):
        sentence, original = normal[start:end], text[start:end]
        for pattern in patterns:
            # Search again from each value: statements can follow one another in a sentence.
            match = pattern.search(sentence)
            while match is not None:
                fact = _fact(pattern, match, original, index, reflect_values)
                if fact is not None:
                    found.append((start + match.start(), fact))
                match = pattern.search(sentence, match.start("value"))
    found.sort(key=lambda pair: pair[0])
    return found


def _fact(pattern: re.Pattern[str], match: re.Match[str], quote: str, index: int,
          reflect_values: bool) -> Fact | None:
    """Turn one statement match into a fact, or None if its value is not a usable answer."""
    # Cut on the normalised text, then take the same span of the original: verbatim.
    rest = match.group("value")
    cleaned = _value(rest)
    offset = match.start("value") + rest.find(cleaned)
    value = quote[offset : offset + len(cleaned)]
    if not value or value.lower().startswith("not ") or len(value) > 120:
        return None
    if len(quote) > 300:  # quote just the statement, keeping the citation short
        quote = quote[match.start() : offset + len(value)]
    first = value.split()[0].lower()
    shown = reflect(value) if reflect_values else value
    if pattern is _THE:
        said, verb = match.group("key"), match.group("verb").lower()
        if said.split()[0].lower() in _NOT_A_THING:
            return None
        return Fact(f"the {key(said)}", value, quote, f"The {said} {verb} {shown}.", index)
    if pattern is _MY:
        said, verb = match.group("key"), match.group("verb").lower()
        return Fact(key(said), value, quote, f"Your {said.lower()} {verb} {shown}.", index)
    if pattern in (_MY_NAME_S, _CALL):
        if first in NOT_CALLED:
            return None
        return Fact("name", value, quote, f"Your name is {shown}.", index)
    if pattern is _I_AM:
        if first in NOT_IDENTITY or first.endswith("ing"):
            return None
        if _name_like(value):
            return Fact("name", value, quote, f"Your name is {shown}.", index)
        if first in {"a", "an", "the"} and len(value.split()) <= 6:
            return Fact("@identity", value, quote, f"You are {shown}.", index)
        return None
    verb = match.group("verb").lower()
    if pattern is _LIVE:
        return Fact("@home", value, quote, f"You live {verb} {shown}.", index)
    topic = "@job" if verb == "as" else "@work"
    return Fact(topic, value, quote, f"You work {verb} {shown}.", index)


def _pair(match: re.Match[str], line: str, index: int) -> Fact | None:
    """A key-value line as a fact: the line is the quote, the value its span."""
    raw = match.group("value")
    value = raw.strip().rstrip(",;").strip().strip("\"'*_`").strip()
    if not value or len(value) > 120:
        return None
    offset = match.start("value") + raw.find(value)
    said = re.sub(r"[_\s]+", " ", match.group("key")).strip()
    quote = line.strip()
    value = line[offset : offset + len(value)]
    if value not in quote:
        return None
    return Fact(f"the {key(said)}", value, quote, f"The {said.lower()} is {value}.", index)


def _value(rest: str) -> str:
    """The answer part of a statement: up to the end of its clause, without filler."""
    cut = _CUT.search(rest)
    value = rest[: cut.start()] if cut else rest
    if len(value) > 200:  # too long to be an answer; skip the filler regexes on it
        return value
    value = value.strip().rstrip(".…!?,;:'\" ").strip()
    value = _TAIL.sub("", _LEAD.sub("", value))
    return value.strip().strip("'\"").strip()


def _name_like(value: str) -> bool:
    """Whether a value looks like a person's name: one to four capitalised words."""
    words = value.split()
    return 0 < len(words) <= 4 and all(
        re.fullmatch(r"[A-Z][\w'.-]*", word) for word in words
    )
