"""The Guardian's say on changes to a caller's memory that the service decides by itself.

An engine (a dream's consolidation) does not write memory directly: it describes the change
as a `MemoryChange` and applies it only when a `MemoryGuard` allows it. `PolicyGuard` is the
guard in force: it refuses a change whose text the Guardian's output rules would block or
redact (nothing the service would not say may become memory on its own), the semantic rules
included when one of them could refuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from app.guardian.engine import DetectorError, Guardian

_REFUSING = ("block", "redact")  # the actions that refuse a change to memory


@dataclass(frozen=True, slots=True)
class MemoryChange:
    subject: str  # whose memory
    kind: Literal["fold"]  # merge `members` into one fold
    members: Sequence[str]  # the documents changed
    texts: Sequence[str]  # what they say, and what the change would make them say
    origin: str  # what decided it: "dream:<id>", "sleep"


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
    """Refuses a change whose text the Guardian's output rules block or would redact."""

    def __init__(self, guardian: Guardian) -> None:
        self._guardian = guardian

    async def review(self, change: MemoryChange) -> Verdict:
        """Allowed unless a text meets a block or redaction rule (its category named). The
        semantic rules (an embedding per text) run only when one of them blocks or redacts:
        one that only logs cannot refuse a change."""
        policy = self._guardian.policy
        semantic = policy.semantic_decides("output", "text")
        for text in change.texts:
            if semantic:
                try:
                    decision = await self._guardian.scan(text, direction="output",
                                                         policy=policy)
                except DetectorError as exc:  # fail closed: what was not reviewed is refused
                    return Verdict(False, f"the Guardian could not review it ({exc})")
            else:
                decision = self._guardian.scan_fast(text, direction="output", policy=policy)
            if decision.action in _REFUSING:
                categories = ", ".join(sorted(decision.categories()))
                verb = "blocks" if decision.action == "block" else "would redact part of"
                return Verdict(False, f"the output policy {verb} it ({categories})")
        return Verdict(True)
