"""`/v1/embeddings`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from starlette.responses import Response

from app.api.embeddings.protocol import EmbeddingList, EmbeddingRequest
from app.api.protocol import CheckedRoute
from app.deps import EmbeddingsDep, require
from app.identity.base import Identity
from app.json import JSONResponse

router = APIRouter(tags=["embeddings"], route_class=CheckedRoute)


@router.post("/embeddings", response_model=None, responses={200: {"model": EmbeddingList}})
async def create_embeddings(
    body: EmbeddingRequest, _: Annotated[Identity, require("embeddings")],
    service: EmbeddingsDep,
) -> Response:
    """Embed text (or token ids) as float arrays or base64 little-endian float32."""
    return JSONResponse(await service.create(body))
