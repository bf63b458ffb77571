"""`/v1/chat/completions`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import Response

from app.api.chat.protocol import ChatCompletionRequest
from app.api.protocol import CheckedRoute
from app.deps import ChatDep, require
from app.identity.base import Identity
from app.json import JSONResponse
from app.sse import sse_response

router = APIRouter(tags=["chat"], route_class=CheckedRoute)


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    body: ChatCompletionRequest, identity: Annotated[Identity, require("chat")],
    service: ChatDep,
    x_lukhas_session: Annotated[str | None, Header(
        description="Working memory the messages continue, and that the answer extends.")
    ] = None,
) -> Response:
    """Create a chat completion; `stream: true` answers with `data:` chunks and `[DONE]`."""
    if body.stream:
        return sse_response(await service.stream(identity, body, x_lukhas_session))
    return JSONResponse(await service.create(identity, body, x_lukhas_session))
