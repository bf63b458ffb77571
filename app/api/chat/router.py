"""`/v1/chat/completions`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import Response

from app.api.chat.protocol import ChatCompletion, ChatCompletionRequest
from app.api.protocol import CheckedRoute
from app.deps import ChatDep, require
from app.identity.base import Identity
from app.json import JSONResponse
from app.sse import sse_response, stream_documented

router = APIRouter(tags=["chat"], route_class=CheckedRoute)


@router.post("/chat/completions", response_model=None, responses={200: stream_documented(
    ChatCompletion, named=False, data="With `stream: true`: each `data` a JSON "
    "`chat.completion.chunk`, the last one `[DONE]`.")})
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
