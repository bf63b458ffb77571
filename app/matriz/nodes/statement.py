"""Statement node: acknowledge what the user tells, restated from the assistant's side.

A message that asks nothing but says something about the user ("I live in Paris.") or about
a thing ("The launch code is 1234.") is answered "Noted: you live in Paris.": what recall
can take from it is restated as recall would answer it, any other first-person sentence is
reflected ("I am tired." → "you are tired"). A message of attached files alone is
acknowledged by their names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.matriz.nodes.facts import FIRST_PERSON, reflect, sentences, user_facts

_FLAGS = re.IGNORECASE
# Sentences that ask or request rather than tell.
_REQUEST = re.compile(r"^\W*(?:please|tell|give|show|say|repeat|remind|remember|recall|can|"
                      r"could|would|will|let|help|explain|compute|calculate|what|what's|why|"
                      r"how|who|whose|where|when|which|do|does|did|is|are|am)\b", _FLAGS)
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'd|you'll)\b",
                            _FLAGS)
_LOWER = {"you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll", "the",
          "a", "an"}


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    text: str
    notes: tuple[str, ...]


def acknowledge(message: str) -> Acknowledgment | None:
    """"Noted: …" for a message that tells something; None if it tells nothing."""
    noted: list[str] = []
    recallable: list[str] = []
    for start, end in sentences(message):
        sentence = message[start:end]
        if sentence.endswith("?") or _REQUEST.match(sentence):
            continue
        facts = user_facts(sentence, 0)
        if facts:
            noted += [_lower_first(f.sentence.rstrip(".")) for f in facts]
            recallable += [f.sentence for f in facts]
        elif FIRST_PERSON.search(sentence) and not _SECOND_PERSON.search(sentence):
            noted.append(_lower_first(reflect(sentence).rstrip(".!…; ")))
    if not noted:
        return None
    if recallable:
        note = f"statement: a later question can recall from this message: {_list(recallable)}"
    else:
        note = ("statement: nothing in this message that a later question can recall (I recall "
                "your name, where you live or work, what you are, what your X or the X is)")
    return Acknowledgment(f"Noted: {'; '.join(noted)}.", (note,))


def acknowledge_files(names: Sequence[str]) -> Acknowledgment:
    """The answer to a message of attached files and no words."""
    shown = ", ".join(names)
    if len(names) == 1:
        text = f"Noted: I have read the attached file {shown}. Ask me what it says."
    else:
        text = f"Noted: I have read the attached files {shown}. Ask me what they say."
    return Acknowledgment(text, (f"statement: the message holds no words, only {shown}",))


def _lower_first(text: str) -> str:
    first = text.split(maxsplit=1)[0] if text.split() else ""
    return text[0].lower() + text[1:] if first.lower() in _LOWER else text


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{v if len(v) <= 60 else v[:59] + '…'}'" for v in values)
