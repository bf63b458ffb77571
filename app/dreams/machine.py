"""The dream's finite state machine: its states and the only edges between them.

    queued → gathering → associating → generating → critiquing → consolidating → completed

Any state before the end may move to `cancelled` or `failed`; a working state (not `queued`)
may end `incomplete` when the dream's budget runs out. The terminal states have no way out.
`advance` is the one way to compute a next state, so an edge missing from `TRANSITIONS` is
impossible in the code; the database's trigger (migrations/0010_dreams.sql) holds the same
table, so it is impossible in the data too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DreamStatus(StrEnum):
    QUEUED = "queued"
    GATHERING = "gathering"
    ASSOCIATING = "associating"
    GENERATING = "generating"
    CRITIQUING = "critiquing"
    CONSOLIDATING = "consolidating"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"


S = DreamStatus
# The working states, in the order a dream goes through them.
PHASES: Final = (S.GATHERING, S.ASSOCIATING, S.GENERATING, S.CRITIQUING, S.CONSOLIDATING)
TERMINAL: Final = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.INCOMPLETE})
_FORWARD = dict(zip((S.QUEUED, *PHASES), (*PHASES, S.COMPLETED), strict=True))

TRANSITIONS: Final[dict[DreamStatus, frozenset[DreamStatus]]] = {
    S.QUEUED: frozenset({S.GATHERING, S.CANCELLED, S.FAILED}),
    **{phase: frozenset({_FORWARD[phase], S.CANCELLED, S.FAILED, S.INCOMPLETE})
       for phase in PHASES},
    **{end: frozenset() for end in TERMINAL},
}


class IllegalTransition(Exception):
    """A move the machine does not have (a bug of the caller, never the user's input)."""

    def __init__(self, current: DreamStatus, target: DreamStatus) -> None:
        super().__init__(f"a dream cannot go from {current} to {target}")
        self.current = current
        self.target = target


def advance(current: DreamStatus, target: DreamStatus) -> DreamStatus:
    """`target`, if the machine has the edge `current → target`; else IllegalTransition."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target


def next_phase(current: DreamStatus) -> DreamStatus:
    """The state after `current` on the way to `completed`."""
    if current not in _FORWARD:
        raise IllegalTransition(current, current)
    return advance(current, _FORWARD[current])


def is_terminal(status: DreamStatus) -> bool:
    """True once the dream has ended (completed, failed, cancelled or incomplete)."""
    return status in TERMINAL
