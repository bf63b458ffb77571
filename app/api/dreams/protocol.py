"""Wire models of `/v1/dreams`: what a dream is asked for, and the dream and its trace."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from app.api.protocol import Metadata, OpenAIModel

Term = Annotated[str, Field(min_length=1, max_length=64)]
Lane = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
IndexId = Annotated[str, Field(min_length=1, max_length=128)]
MIN_STEPS = 9  # the trace of the shortest dream: queued, five phases, their outputs, the end


class DreamSources(OpenAIModel):
    memory: bool = Field(default=True, description="Draw on your long-term memory.")
    indexes: list[IndexId] = Field(default_factory=list, max_length=16,
                                   description="And on these of your `/v1/indexes` (ids).")


class DreamConstraints(OpenAIModel):
    max_steps: int = Field(default=100, ge=MIN_STEPS, le=1000,
                           description="At most this many trace events; reached, the dream "
                                       "ends `incomplete`.")
    max_scenarios: int = Field(default=5, ge=1, le=50)
    time_budget_seconds: float = Field(default=60.0, gt=0, le=600,
                                       description="From the start of gathering; spent, the "
                                                   "dream ends `incomplete`.")
    sources: DreamSources = Field(default_factory=DreamSources)
    must_include: list[Term] = Field(default_factory=list, max_length=16,
                                     description="Terms every accepted scenario contains.")
    must_exclude: list[Term] = Field(default_factory=list, max_length=16,
                                     description="Terms no recalled memory and no accepted "
                                                 "scenario contains.")
    lanes: list[Lane] | None = Field(default=None, max_length=16,
                                     description="Memory lanes to draw on (default: all).")


_EXAMPLE: dict[str, Any] = {"model": "lukhas-matriz", "seed": "a trip to the mountains",
            "constraints": {"max_scenarios": 3, "must_exclude": ["work"]},
            "metadata": {"topic": "holidays"}}


class DreamCreate(OpenAIModel):
    model: str = Field(min_length=1, max_length=256)
    seed: str = Field(min_length=1, max_length=4000, description="What the dream starts from.")
    constraints: DreamConstraints = Field(default_factory=DreamConstraints)
    stream: bool = Field(default=False, description="Answer with the trace as server-sent "
                                                    "events, to the dream's end.")
    store: bool = Field(default=True, description="Keep the dream after it ends; `false` "
                                                  "needs `stream: true`.")
    metadata: Metadata | None = None

    model_config = ConfigDict(extra="allow", allow_inf_nan=False,
                              json_schema_extra={"examples": [_EXAMPLE]})


class DreamsQuery(OpenAIModel):
    after: str | None = None
    before: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class DreamReason(OpenAIModel):
    code: Literal["time_budget", "max_steps", "interrupted", "error", "cancelled"]
    message: str


class DreamScenario(OpenAIModel):
    id: str
    text: str
    cites: list[str] = Field(description="Ids of the memories it recombines.")
    verdict: Literal["pending", "accepted", "rejected"]
    novelty: float | None
    support: float | None
    critique: dict[str, Any]


class DreamSummary(OpenAIModel):
    memories: int
    links: int
    scenarios: int
    accepted: int
    rejected: int
    proposals: int
    applied: int
    notes: list[str]


_STATUS = Literal["queued", "gathering", "associating", "generating", "critiquing",
                  "consolidating", "completed", "failed", "cancelled", "incomplete"]


class DreamObject(OpenAIModel):
    id: str
    object: Literal["dream"]
    created_at: int
    started_at: int | None
    ended_at: int | None
    status: _STATUS
    model: str
    seed: str
    constraints: DreamConstraints
    store: bool
    metadata: dict[str, str]
    reason: DreamReason | None
    summary: DreamSummary | None = Field(description="Once completed.")
    scenarios: list[DreamScenario]
    trace_events: int = Field(description="Events in the trace (numbered from 0).")

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "dream_5f0c…", "object": "dream", "created_at": 1764662400,
        "started_at": None, "ended_at": None, "status": "queued", "model": "lukhas-matriz",
        "seed": "a trip to the mountains", "store": True, "metadata": {},
        "constraints": {"max_steps": 100, "max_scenarios": 3, "time_budget_seconds": 60.0,
                        "sources": {"memory": True, "indexes": []}, "must_include": [],
                        "must_exclude": ["work"], "lanes": None},
        "reason": None, "summary": None, "scenarios": [], "trace_events": 1}]})


class DreamList(OpenAIModel):
    object: Literal["list"]
    data: list[DreamObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DreamDeleted(OpenAIModel):
    id: str
    object: Literal["dream.deleted"]
    deleted: bool


class DreamEvent(OpenAIModel):
    """One event of a dream's trace (an SSE frame's `data`, the frame named by `type`)."""

    type: str = Field(description="`dream.<state>` for each change of state; "
                                  "`dream.memories`, `dream.links`, `dream.scenario`, "
                                  "`dream.critique`, `dream.proposal` for what a phase found.")
    sequence_number: int
    dream_id: str
    status: _STATUS
    elapsed_ms: float = Field(description="Since the dream was created.")
    data: dict[str, Any]
