"""Recall node: answer questions about the user from what the user said, quoting it.

Extractive only: the value is a verbatim span of one user turn, and the answer quotes the
sentence it came from. Assistant, system and developer turns are never sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.matriz.nodes.types import Recollection, Turn

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
# Where a value ends: punctuation, or a new clause ("..., and I live in ...").
_CUT = re.compile(r"[,;:!?()]|\s[-–—]\s|\.(?:\s|$)|\s+(?:and|but|so|or|because|since|while)"
                  r"\s+(?:I|I'm|I've|my|you|your|we|it|it's|that|this|he|she|they)\b"
                  r"|\s+(?:but|because|although|though|since)\b", _FLAGS)
_LEAD = re.compile(r"^(?:(?:actually|now|really|still|just|definitely)\s+)+", _FLAGS)
_TAIL = re.compile(r"(?:\s+(?:now|then|btw|by the way|actually|too|as well|though|anyway|and|"
                   r"or|but|so))+$", _FLAGS)
_NOT_IDENTITY = {"not", "so", "very", "also", "just", "really", "still", "here", "back", "from",
                 "in", "at", "on", "to", "about", "sure", "sorry", "glad", "happy", "afraid",
                 "fine", "good", "ok", "okay", "well", "done", "ready", "called"}
_NOT_CALLED = {"back", "later", "tomorrow", "tonight", "when", "if", "at", "on", "any", "anytime",
               "soon", "now", "sometime", "please", "a", "an", "the"}
_MODIFIERS = {"current", "real", "full", "actual", "present", "new"}
_SPELLING = {"favorite": "favourite", "color": "colour", "colors": "colours"}
_JOB = {"job", "occupation", "profession", "work", "role", "career"}
_HOME = {"home", "city", "town", "location", "hometown", "address"}
_EMPLOYER = {"workplace", "employer", "company", "office"}
_ASK_STOP = {"is", "was", "are", "were", "again", "please", "now", "then", "that", "which",
             "and", "or", "if", "you", "i", "called", "do", "did", "does", "today", "anymore"}
_ASKING = re.compile(r"^\s*(?:what|what's|whats|which|who|whose|where|how|tell|do|did|can|could|"
                     r"would|remind|remember|recall|say|give|repeat)\b", _FLAGS)
_REMEMBER = re.compile(r"^\s*(?:do|did)\s+you\s+(?:remember|recall|know)\b", _FLAGS)
# Questions not phrased as "my X": (pattern, fact topics accepted, what was asked, for the user).
_FIXED: tuple[tuple[re.Pattern[str], frozenset[str], str], ...] = (
    (re.compile(r"\bwho\s+am\s+I\b", _FLAGS), frozenset({"@identity", "name"}), "who you are"),
    (re.compile(r"\bwhere\s+(?:do|did)\s+I\s+live\b|\bwhere\s+am\s+I\s+living\b", _FLAGS),
     frozenset({"@home", *_HOME}), "where you live"),
    (re.compile(r"\bwhere\s+(?:do|did)\s+I\s+work\b|\bwho\s+do\s+I\s+work\s+for\b", _FLAGS),
     frozenset({"@work", *_EMPLOYER}), "where you work"),
    (re.compile(r"\bwhat\s+do\s+I\s+do\b", _FLAGS),
     frozenset({"@job", "@work", *_JOB}), "what you do"),
)


@dataclass(frozen=True, slots=True)
class _Fact:
    topic: str  # normalised "my X" key, or "@identity" / "@home" / "@work" / "@job"
    value: str  # verbatim span of the quote
    quote: str  # verbatim span of the turn
    sentence: str  # how the answer states it, value already in place
    index: int  # position of the turn in the history


def recall(question: str, history: Sequence[Turn]) -> Recollection:
    """Answer a question about the user from the latest matching user statement."""
    users = [i for i, turn in enumerate(history) if turn.role == "user"]
    asked = _topics(question)
    if asked is None:
        note = f"recall: not a question about something the user said ({_turns(users)})"
        return Recollection("not_asked", searched=len(users), notes=(note,))
    accepted, topic = asked
    facts = [f for i in users for f in _facts(history[i].text, i) if f.topic in accepted]
    looked = f"recall: looked for a statement about {topic} in {_turns(users)}"
    if not facts:
        notes = (looked, "recall: no such statement found")
        return Recollection("not_found", topic, len(users), notes=notes)
    best = facts[-1]  # the most recent statement wins: the user may have corrected themselves
    source = history[best.index].source
    sentence = f"You are {_flip(best.value)}." if "@identity" in accepted else best.sentence
    prefix = "Yes. " if _REMEMBER.search(question) else ""
    text = f'{prefix}{sentence} You told me: "{best.quote}" [{source}]'
    found = f"recall: found '{best.value}' in {source}: \"{_clip(best.quote)}\""
    lines = [looked, found]
    older = sorted({f.value for f in facts[:-1]} - {best.value})
    if older:
        lines.append(f"recall: the most recent statement wins over earlier {_list(older)}")
    return Recollection("found", topic, len(users), best.value, best.quote, source, best.index,
                        text, tuple(lines))


def states_something(text: str) -> bool:
    """Whether a user turn says something about the user that recall could answer from."""
    return bool(_facts(text, 0))


def _topics(question: str) -> tuple[frozenset[str], str] | None:
    """Which fact topics answer the question, and what it asks about; None if not a recall."""
    text = question.translate(_APOSTROPHES)
    for pattern, accepted, topic in _FIXED:
        if pattern.search(text):
            return accepted, topic
    if not (_ASKING.search(text) or text.rstrip().endswith("?")):
        return None
    match = re.search(rf"\bmy\s+({_WORD}(?:\s+{_WORD})*)", text, _FLAGS)
    if match is None:
        return None
    words: list[str] = []
    for word in match.group(1).split():
        if word.lower() in _ASK_STOP or len(words) == 4:
            break
        words.append(word)
    if not words:
        return None
    key = _key(" ".join(words))
    topics = {key}
    for group, extra in ((_JOB, {"@job", "@work"}), (_HOME, {"@home"}), (_EMPLOYER, {"@work"})):
        if key in group:
            topics |= extra
    return frozenset(topics), f'"your {" ".join(words).lower()}"'


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})  # same length, so spans map back


def _facts(text: str, index: int) -> list[_Fact]:
    """Every statement about the user in one turn, in the order they were made."""
    normal = text.translate(_APOSTROPHES)
    found: list[tuple[int, _Fact]] = []
    for start, end in _sentences(normal):
        sentence, original = normal[start:end], text[start:end]
        for pattern in (_MY, _MY_NAME_S, _CALL, _I_AM, _LIVE, _WORK):
            # Search again from each value: statements can follow one another in a sentence.
            match = pattern.search(sentence)
            while match is not None:
                fact = _fact(pattern, match, original, index)
                if fact is not None:
                    found.append((start + match.start(), fact))
                match = pattern.search(sentence, match.start("value"))
    found.sort(key=lambda pair: pair[0])
    return [fact for _, fact in found]


def _fact(pattern: re.Pattern[str], match: re.Match[str], quote: str, index: int) -> _Fact | None:
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
    shown = _flip(value)
    if pattern is _MY:
        key, verb = match.group("key"), match.group("verb").lower()
        return _Fact(_key(key), value, quote, f"Your {key.lower()} {verb} {shown}.", index)
    if pattern in (_MY_NAME_S, _CALL):
        if first in _NOT_CALLED:
            return None
        return _Fact("name", value, quote, f"Your name is {shown}.", index)
    if pattern is _I_AM:
        if first in _NOT_IDENTITY or first.endswith("ing"):
            return None
        if _name_like(value):
            return _Fact("name", value, quote, f"Your name is {shown}.", index)
        if first in {"a", "an", "the"} and len(value.split()) <= 6:
            return _Fact("@identity", value, quote, f"You are {shown}.", index)
        return None
    verb = match.group("verb").lower()
    if pattern is _LIVE:
        return _Fact("@home", value, quote, f"You live {verb} {shown}.", index)
    topic = "@job" if verb == "as" else "@work"
    return _Fact(topic, value, quote, f"You work {verb} {shown}.", index)


def _sentences(text: str) -> list[tuple[int, int]]:
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


def _key(words: str) -> str:
    """Normalise what a "my X" is about, so questions match statements despite wording."""
    parts = [_SPELLING.get(w, w) for w in words.lower().translate(_APOSTROPHES).split()]
    return " ".join(w for w in parts if w not in _MODIFIERS) or " ".join(parts)


def _flip(value: str) -> str:
    """Restate the user's words from the assistant's side: "my garden" -> "your garden"."""
    swaps = {"my": "your", "mine": "yours", "me": "you", "myself": "yourself", "i'm": "you're"}

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        if word == "I":
            return "you"
        return swaps.get(word.lower(), word)

    return re.sub(r"\b(?:I'm|I|my|mine|me|myself)\b", swap, value, flags=_FLAGS)


def _turns(users: Sequence[int]) -> str:
    return f"{len(users)} earlier user turn{'' if len(users) == 1 else 's'}"


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{_clip(v, 40)}'" for v in values)
