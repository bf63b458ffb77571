"""Recall node: answer questions from what the user said or attached, quoting it.

Extractive only: the value is a verbatim span of one user turn (a message, or a file's
text), and the answer quotes the sentence or line it came from. Assistant, system and
developer turns are never sources. Statements are weighed in the order they were made, by
their turns' times (`Turn.at`) where the history mixes this conversation with what long-term
memory recalled, so a correction made later wins wherever it was made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from app.core.turns import Turn, is_recalled
from app.matriz.nodes.facts import Fact, document_facts, key, reflect, user_facts
from app.matriz.nodes.types import Recollection

_FLAGS = re.IGNORECASE
_WORD = r"[a-z][a-z0-9'-]*"
_JOB = {"job", "occupation", "profession", "work", "role", "career"}
_HOME = {"home", "city", "town", "location", "hometown", "address"}
_EMPLOYER = {"workplace", "employer", "company", "office"}
_ASK_STOP = {"is", "was", "are", "were", "again", "please", "now", "then", "that", "which",
             "and", "or", "if", "you", "i", "called", "do", "did", "does", "today", "anymore"}
_ASKING = re.compile(r"^\s*(?:what|what's|whats|which|who|whose|where|how|tell|do|did|can|could|"
                     r"would|remind|remember|recall|say|give|repeat)\b", _FLAGS)
_REMEMBER = re.compile(r"^\s*(?:do|did)\s+you\s+(?:remember|recall|know)\b", _FLAGS)
# Questions about a thing: "What is the launch code?", "Tell me the launch code".
_ASK_THE = re.compile(
    r"^\s*(?:(?:what|which|who|where|when|how\s+much|how\s+many)(?:'s|\s+(?:is|are|was|were))"
    r"|(?:tell|remind|give)\s+me(?:\s+of)?|(?:do|did)\s+you\s+(?:know|remember|recall)"
    rf")\s+the\s+(?P<key>{_WORD}(?:\s+{_WORD})*)", _FLAGS)
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
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})


def recall(question: str, history: Sequence[Turn]) -> Recollection:
    """Answer a question from the most recent matching statement of the user's."""
    messages, files, remembered = _sources(history)
    found = Recollection("not_asked", searched=len(messages), files=files,
                         remembered=remembered)
    searched = _searched(len(messages), files, remembered)
    asked = topics(question)
    if asked is None:
        note = f"recall: not a question about something the user said ({searched})"
        return replace(found, notes=(note,))
    accepted, topic = asked
    facts = [f for f in _facts(history) if f.topic in accepted]
    looked = f"recall: looked for a statement about {topic} in {searched}"
    if not facts:
        notes = (looked, "recall: no such statement found")
        return replace(found, status="not_found", topic=topic, notes=notes)
    best = facts[-1]  # the most recent statement wins: the user may have corrected themselves
    turn = history[best.index]
    sentence = f"You are {reflect(best.value)}." if "@identity" in accepted else best.sentence
    prefix = "Yes. " if _REMEMBER.search(question) else ""
    said = f"The file {turn.file} says" if turn.file is not None else "You told me"
    text = f'{prefix}{sentence} {said}: "{best.quote}" [{turn.source}]'
    lines = [looked, f"recall: found '{best.value}' in {turn.source}: \"{_clip(best.quote)}\""]
    older = list(dict.fromkeys(f.value for f in facts[:-1] if f.value != best.value))
    if older:
        lines.append(f"recall: the most recent statement wins over earlier {_list(older)}")
    return replace(found, status="found", topic=topic, value=best.value, quote=best.quote,
                   source=turn.source, turn_index=best.index, text=text, notes=tuple(lines))


def states_something(text: str) -> bool:
    """Whether a user turn says something about the user that recall could answer from."""
    return bool(user_facts(text, 0))


def topics(question: str) -> tuple[frozenset[str], str] | None:
    """Which fact topics answer the question, and what it asks about; None if not a recall."""
    text = question.translate(_APOSTROPHES)
    for pattern, accepted, topic in _FIXED:
        if pattern.search(text):
            return accepted, topic
    thing = _ASK_THE.search(text)
    if thing is not None:
        words = _asked_words(thing.group("key"))
        if words:
            return frozenset({f"the {key(' '.join(words))}"}), f'"the {" ".join(words)}"'
    if not (_ASKING.search(text) or text.rstrip().endswith("?")):
        return None
    match = re.search(rf"\bmy\s+({_WORD}(?:\s+{_WORD})*)", text, _FLAGS)
    if match is None:
        return None
    words = _asked_words(match.group(1))
    if not words:
        return None
    said = key(" ".join(words))
    wanted = {said}
    for group, extra in ((_JOB, {"@job", "@work"}), (_HOME, {"@home"}), (_EMPLOYER, {"@work"})):
        if said in group:
            wanted |= extra
    return frozenset(wanted), f'"your {" ".join(words).lower()}"'


def _asked_words(phrase: str) -> list[str]:
    """The words naming what is asked about, up to four, before the question goes on."""
    words: list[str] = []
    for word in phrase.split():
        if word.lower() in _ASK_STOP or len(words) == 4:
            break
        words.append(word)
    return words


def _facts(history: Sequence[Turn]) -> list[Fact]:
    """Every statement in the user's turns, oldest first: by when each turn was said (a turn
    of this request counts as said now), then by its place in the history."""
    order = sorted(range(len(history)),
                   key=lambda i: (history[i].at is None, history[i].at or 0.0, i))
    found: list[Fact] = []
    for i in order:
        turn = history[i]
        if turn.role != "user":
            continue
        found += document_facts(turn.text, i) if turn.file is not None else \
            user_facts(turn.text, i)
    return found


def _sources(history: Sequence[Turn]) -> tuple[list[int], tuple[str, ...], int]:
    """The user's earlier messages in this conversation, the files, and recalled messages."""
    users = [i for i, turn in enumerate(history) if turn.role == "user"]
    files = tuple(dict.fromkeys(name for i in users if (name := history[i].file) is not None))
    remembered = sum(1 for i in users if is_recalled(history[i]))
    messages = [i for i in users if history[i].file is None and not is_recalled(history[i])]
    return messages, files, remembered


def _searched(messages: int, files: Sequence[str], remembered: int) -> str:
    """What was searched, for the trace: "2 earlier user turns, 1 attached file ('a.txt')"."""
    parts = [f"{messages} earlier user turn{'' if messages == 1 else 's'}"]
    if files:
        parts.append(f"{len(files)} attached file{'' if len(files) == 1 else 's'} "
                     f"({_list(files)})")
    if remembered:
        parts.append(f"{remembered} message{'' if remembered == 1 else 's'} recalled from "
                     "other conversations")
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{_clip(v, 40)}'" for v in values)
