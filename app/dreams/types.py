"""What a dream works with, phase by phase, as plain JSON-ready records.

Each phase's output is written into the trace (and read back from it when an interrupted
dream resumes), so these convert to and from the JSON the trace stores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SourceKind = Literal["memory", "index"]


@dataclass(frozen=True, slots=True)
class Constraints:
    max_steps: int
    max_scenarios: int
    time_budget_seconds: float
    memory: bool  # draw on the caller's long-term memory
    indexes: tuple[str, ...]  # and on these of their /v1/indexes
    must_include: tuple[str, ...]
    must_exclude: tuple[str, ...]
    lanes: tuple[str, ...] | None  # None: every lane

    def to_json(self) -> dict[str, Any]:
        """As the dream object shows them."""
        return {"max_steps": self.max_steps, "max_scenarios": self.max_scenarios,
                "time_budget_seconds": self.time_budget_seconds,
                "sources": {"memory": self.memory, "indexes": list(self.indexes)},
                "must_include": list(self.must_include),
                "must_exclude": list(self.must_exclude),
                "lanes": None if self.lanes is None else list(self.lanes)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Constraints:
        """From `to_json`'s output (as stored)."""
        lanes = raw["lanes"]
        return cls(raw["max_steps"], raw["max_scenarios"], float(raw["time_budget_seconds"]),
                   raw["sources"]["memory"], tuple(raw["sources"]["indexes"]),
                   tuple(raw["must_include"]), tuple(raw["must_exclude"]),
                   None if lanes is None else tuple(lanes))


@dataclass(frozen=True, slots=True)
class Recalled:
    """One memory the dream drew on, and where it came from."""

    id: str
    text: str
    score: float  # similarity to the seed in its index (cosine: higher is closer)
    source: SourceKind
    index_id: str
    lane: str
    at: float | None  # when it was last written (Unix seconds)


@dataclass(frozen=True, slots=True)
class Link:
    """Two recalled memories that belong together, and why."""

    a: str
    b: str
    kinds: list[str]  # "entity", "similarity", "time"
    shared: list[str]  # the entities both name
    similarity: float
    weight: float


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    text: str
    cites: list[str]  # the memories it recombines


@dataclass(frozen=True, slots=True)
class Critique:
    scenario: str
    verdict: Literal["accepted", "rejected"]
    reasons: list[str]
    missing: list[str]  # must_include terms it lacks
    excluded: list[str]  # must_exclude terms it has
    contradictions: list[dict[str, str]]  # {"memory", "contradicted_by"}
    novelty: float
    support: float


@dataclass(frozen=True, slots=True)
class Proposal:
    """A merge the dream proposes: its accepted scenario's memories into one fold."""

    id: str
    scenario: str
    fold: str
    members: list[str]
    statement: str  # the newest member's text: what the fold says
    outcome: Literal["applied", "refused", "proposed"] = "proposed"
    reason: str | None = None


@dataclass(slots=True)
class Material:
    """Everything the phases produced so far."""

    memories: list[Recalled] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    critiques: list[Critique] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # of the proposals, in order
    breakthroughs: list[str] = field(default_factory=list)  # scenarios flagged, in order


def to_json(record: Any) -> dict[str, Any]:
    """A record as JSON."""
    return asdict(record)
