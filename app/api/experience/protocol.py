"""Wire models of the experience log: a response's feedback and the administrators' window
on the log (docs/experience.md). Our own API: an unknown field or query parameter is a 400."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_Strict = ConfigDict(extra="forbid", allow_inf_nan=False)


class FeedbackRequest(BaseModel):
    model_config = _Strict

    rating: float = Field(ge=-1.0, le=1.0, description="The reward: -1 (bad) to 1 (good).")
    comment: str | None = Field(default=None, max_length=2000)


class Feedback(BaseModel):
    object: Literal["response.feedback"] = "response.feedback"
    response_id: str
    rating: float
    comment: str | None
    created_at: int


class EventsQuery(BaseModel):
    model_config = _Strict

    subject: str | None = Field(default=None, max_length=256)
    kind: str | None = Field(default=None, max_length=256, description=(
        "Comma-separated kinds: intention, action, memory_write, dream_step, reward, "
        "reflection (default: all)."))
    since: int | None = Field(default=None, ge=0, description="From this Unix time.")
    until: int | None = Field(default=None, ge=0, description="Before this Unix time.")
    after: str | None = Field(default=None, max_length=64, description="The cursor: an id.")
    limit: int = Field(default=100, ge=1, le=1000)


class ExperienceEventObject(BaseModel):
    id: str
    object: Literal["experience.event"] = "experience.event"
    at: float
    lane: str
    subject: str
    kind: str
    ref: str | None
    data: dict[str, Any]


class EventList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ExperienceEventObject]
    first_id: str | None
    last_id: str | None
    has_more: bool
