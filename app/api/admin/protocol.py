"""Wire models of `/v1/admin/routing/preview` (docs/routing.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Our own API, not OpenAI's: no SDK adds fields to it, so an unknown field is a 400 naming it.
_Strict = ConfigDict(extra="forbid", allow_inf_nan=False)


class RoutingPreviewRequest(BaseModel):
    model_config = _Strict

    model: str = Field(min_length=1, max_length=256, description="The model id a caller names.")
    subject: str = Field(min_length=1, max_length=256,
                         description="The caller's subject: what its A/B bucket is drawn from.")
    tier: str | None = Field(default=None, max_length=64,
                             description="The caller's tier (default: yours).")
    request_id: str = Field(default="", max_length=256,
                            description="The request id the plan's order is drawn from.")


class WireObject(BaseModel):
    """What goes out: every field always present (null when it does not apply)."""

    model_config = ConfigDict(extra="forbid")


class PlannedAttempt(WireObject):
    deployment: str = Field(description="`upstream/model`: the cooldown key.")
    upstream: str
    model: str = Field(description="The upstream's own model name.")
    group: str = Field(description="The group this attempt serves from.")
    fallback: int = Field(description="0: the group first chosen; n: the n-th group after it.")
    retry: int = Field(description="Times this deployment was tried earlier in the plan.")


class RoutingPreview(WireObject):
    object: Literal["routing.preview"] = "routing.preview"
    model: str
    group: str = Field(description="The group the model resolves to.")
    bucket: str | None = Field(description="The A/B bucket, when the group is split.")
    subject: str
    tier: str
    request_id: str
    deadline_seconds: float = Field(description="For the whole request, across attempts.")
    plan: list[PlannedAttempt]
    cooling: list[str] = Field(description="Deployments left out: cooling down after failures.")
