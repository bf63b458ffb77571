"""`/v1/moderations`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from app.api.moderations.protocol import Moderation, ModerationRequest
from app.api.protocol import CheckedRoute
from app.deps import ModerationsDep, require
from app.identity.base import Identity
from app.json import JSONResponse

router = APIRouter(tags=["moderations"], route_class=CheckedRoute)


@router.post("/moderations", response_model=None, responses={200: {"model": Moderation}})
async def create_moderation(
    body: ModerationRequest, _: Annotated[Identity, require("moderations")],
    service: ModerationsDep,
) -> Response:
    """Classify text against the Guardian's policy, as OpenAI's moderation models do."""
    return JSONResponse(await service.create(body))
