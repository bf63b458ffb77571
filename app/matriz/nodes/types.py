"""Dataclasses shared by the reasoner's nodes, its validation and the rest of MATRIZ (the
turns they read are `app.core.turns.Turn`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal


@dataclass(frozen=True, slots=True)
class Finding:
    """What a validated answer rests on, for a structured reply: the value (exact for a
    calculation), the expression worked out, what was asked about, the quote and its source."""

    value: Fraction | float | str | None = None
    rendered: str = ""  # the value as the answer says it
    expression: str = ""
    topic: str = ""
    quote: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the reasoner says, how it got there, and what it quoted."""

    text: str
    summary: tuple[str, ...]
    node: str  # "arithmetic" | "recall" | "documents" | "statement" | "tools" | "unknown"
    citations: tuple[str, ...]
    finding: Finding | None = None


CalculationStatus = Literal["none", "unreadable", "refused", "undefined", "ok"]


@dataclass(frozen=True, slots=True)
class Calculation:
    """The arithmetic node's finding for one message."""

    status: CalculationStatus
    found: str = ""  # the expression as found in the message
    expression: str = ""  # canonical rendering, re-parsable; empty unless parsed
    value: Fraction | None = None
    approximate: bool = False  # a non-integer power was approximated in floating point
    rendered: str = ""  # the value as shown, e.g. "4" or "0.333333333333"
    text: str = ""  # the sentence for the user
    notes: tuple[str, ...] = ()  # reasoning-summary lines


RecollectionStatus = Literal["not_asked", "not_found", "found"]


@dataclass(frozen=True, slots=True)
class Recollection:
    """The recall node's finding for one question."""

    status: RecollectionStatus
    topic: str = ""  # what was asked about, for the user: '"your favourite colour"'
    searched: int = 0  # the user's earlier messages in this conversation
    files: tuple[str, ...] = ()  # the attached files searched, by name
    remembered: int = 0  # the user's messages recalled from other conversations
    value: str = ""  # verbatim from the quote
    quote: str = ""  # verbatim from the cited turn
    source: str = ""  # Turn.source of the cited turn
    turn_index: int = -1  # index of the cited turn in the history
    text: str = ""  # the sentence for the user
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """Validation's verdict on a node's finding."""

    ok: bool
    note: str  # reasoning-summary line
