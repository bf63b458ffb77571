"""`/v1/admin/drift`: DriftScore v2 and coherence of this lane, and clearing a model that was
blocked for drift (admin scope; the clearing is audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.protocol import CheckedRoute
from app.db.repositories import audit
from app.deps import StateDep, require
from app.identity.base import Identity

router = APIRouter(tags=["admin"], route_class=CheckedRoute)
Admin = Annotated[Identity, require("admin")]


class ModelDriftState(BaseModel):
    model: str
    ema: float | None
    baseline: float | None = Field(description="The mean drift of its first answers here; "
                                   "the thresholds apply to the EMA's rise above it.")
    samples: int
    blocked: bool


class DriftState(BaseModel):
    object: str = Field(default="drift", description="`drift`")
    lane: str
    enforced: bool = Field(description="Whether this lane blocks a model over `block`.")
    ema: float | None = Field(description="DriftScore v2 of the lane: EMA of 1 - cos.")
    warn: float
    block: float
    coherence: float | None
    models: list[ModelDriftState]
    breakthroughs: dict[str, Any] | None = Field(description=(
        "The breakthrough detector: how many answers it scored, their mean and spread, and "
        "the latest flags (z of 3 or more)."))


class DriftClear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=256)


@router.get("/admin/drift", response_model=None, responses={200: {"model": DriftState}})
async def drift_state(who: Admin, state: StateDep) -> dict[str, Any]:
    """This replica's drift per model, the lane's coherence, and which models are held."""
    return state.drift.state()


@router.post("/admin/drift/clear", response_model=None, responses={200: {"model": DriftState}})
async def clear_drift(body: DriftClear, who: Admin, state: StateDep) -> dict[str, Any]:
    """Forget a model's drift and let it answer again (audited)."""
    was_blocked = await state.drift.clear(body.model)
    async with state.pool.acquire() as conn:
        await audit.append(conn, who.subject, "drift_clear", None,
                           {"model": body.model, "lane": state.drift.lane,
                            "was_blocked": was_blocked})
    return state.drift.state()
