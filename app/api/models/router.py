"""`/v1/models`: the models this deployment serves to the caller's tier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from app.api.models.protocol import Model, ModelList
from app.api.protocol import CheckedRoute
from app.deps import ModelsDep, require
from app.identity.base import Identity

router = APIRouter(tags=["models"], route_class=CheckedRoute)
Reader = Annotated[Identity, require("models.read")]


@router.get("/models", response_model=None, responses={200: {"model": ModelList}})
async def list_models(who: Reader, models: ModelsDep) -> dict[str, Any]:
    """Every model the caller may use (built-in, then routed groups and aliases)."""
    return models.list_models(who.tier)


@router.get("/models/{model_id:path}", response_model=None,
            responses={200: {"model": Model}})
async def retrieve_model(model_id: str, who: Reader, models: ModelsDep) -> dict[str, Any]:
    """One model, or 404 `model_not_found` (also for one the caller's tier may not use)."""
    return models.retrieve(model_id, who.tier)
