"""Wire models of `/v1/admin`: the routing preview (docs/routing.md), the kill switch and the
audit log (docs/guardian-enforcement.md)."""

from __future__ import annotations

from typing import Any, Literal

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


class KillSwitchRequest(BaseModel):
    model_config = _Strict

    action: Literal["engage", "release"] = Field(
        description="engage: stop all non-probe traffic; release: let it through again. Each "
                    "takes approvals from as many different administrators as the lane policy "
                    "asks, within its window, each with a single-use ΛiD token.")


class KillSwitchPending(WireObject):
    action: Literal["engage", "release"]
    approvals: int = Field(description="Approvals given so far.")
    required: int = Field(description="Approvals the change needs.")
    expires_at: int = Field(description="When the first approval lapses (Unix seconds).")


class KillSwitch(WireObject):
    object: Literal["guardian.kill_switch"] = "guardian.kill_switch"
    engaged: bool
    changed_at: int = Field(description="When it was last engaged or released (Unix seconds).")
    approved_by: list[str] = Field(description="The administrators who made the last change.")
    pending: KillSwitchPending | None = Field(
        description="Approvals waiting for more, when there are some.")


class AuditQuery(BaseModel):
    model_config = _Strict

    # Record ids are PostgreSQL bigints.
    after: int | None = Field(default=None, ge=0, le=2**63 - 1,
                              description="The id to list after (cursor).")
    before: int | None = Field(default=None, ge=0, le=2**63 - 1,
                               description="The id to list before.")
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    action: str | None = Field(
        default=None, min_length=1, max_length=128,
        description="Only records of this action; ending in `.`, of every action under it "
                    "(`guardian.`).")


class AuditEntry(WireObject):
    object: Literal["audit.entry"] = "audit.entry"
    id: int
    created_at: float = Field(description="Unix seconds, with microseconds.")
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]
    prev_hash: str = Field(description="The hash of the record before it in the chain.")
    hash: str = Field(description="SHA-256 over this record's canonical text.")


class AuditList(WireObject):
    object: Literal["list"] = "list"
    data: list[AuditEntry]
    first_id: int | None
    last_id: int | None
    has_more: bool
