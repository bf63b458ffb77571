"""The Guardian's say on changes to a caller's memory that the service decides by itself.

An engine (a dream's consolidation) does not write memory directly: it describes the change
as a `MemoryChange` and applies it only when a `MemoryGuard` allows it. `PolicyGuard` is the
guard in force: it refuses a change whose text the output policy would block or redact
(nothing the service would not say may become memory on its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from app.guardian.output_policy import OutputPolicy


@dataclass(frozen=True, slots=True)
class MemoryChange:
    subject: str  # whose memory
    kind: Literal["fold"]  # merge `members` into one fold
    members: Sequence[str]  # the documents changed
    texts: Sequence[str]  # what they say, and what the change would make them say
    origin: str  # what decided it: "dream:<id>"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: str | None = None  # why not, when refused


class MemoryGuard(Protocol):
    """Decides whether a change to memory may be applied."""

    async def review(self, change: MemoryChange) -> Verdict:
        """Allow or refuse `change`, saying why."""
        ...


class PolicyGuard:
    """Refuses a change whose text the output policy blocks or would redact."""

    def __init__(self, policy: OutputPolicy) -> None:
        self._policy = policy

    async def review(self, change: MemoryChange) -> Verdict:
        """Allowed unless a text matches a block or redaction rule (named in the reason)."""
        for text in change.texts:
            rule = self._policy.blocked_by(text)
            if rule is not None:
                return Verdict(False, f"the output policy blocks it ({rule})")
            if self._policy.apply(text)[1]:
                return Verdict(False, "the output policy would redact part of it")
        return Verdict(True)
