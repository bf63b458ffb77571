"""`/v1/models`: the models this deployment serves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from app.api.models.protocol import Model, ModelList
from app.api.protocol import CheckedRoute
from app.deps import StateDep, require
from app.identity.base import Identity
from app.matriz.providers.base import ModelCard

router = APIRouter(tags=["models"], route_class=CheckedRoute)


def _model(card: ModelCard) -> dict[str, Any]:
    return {"id": card.id, "object": "model", "created": card.created,
            "owned_by": card.owned_by, "context_window": card.context_window}


def _cards(state: StateDep) -> list[ModelCard]:
    return [*state.registry.cards(), *state.embedding_models.cards()]


@router.get("/models", response_model=None, responses={200: {"model": ModelList}})
async def list_models(
    state: StateDep, _: Annotated[Identity, require("models.read")]
) -> dict[str, Any]:
    """Every model (answering and embedding), in OpenAI's list shape."""
    return {"object": "list", "data": [_model(c) for c in _cards(state)]}


@router.get("/models/{model_id:path}", response_model=None,
            responses={200: {"model": Model}})
async def retrieve_model(
    model_id: str, state: StateDep, _: Annotated[Identity, require("models.read")]
) -> dict[str, Any]:
    """One model, or 404 `model_not_found`."""
    for card in _cards(state):
        if card.id == model_id:
            return _model(card)
    return _model(state.registry.card(model_id))  # raises the 404
