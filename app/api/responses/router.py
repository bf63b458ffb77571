"""`/v1/responses`: create (JSON, SSE, a WebSocket's turns, or in the background), compact,
retrieve (or replay, or follow), cancel, delete, input items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, WebSocket
from starlette.responses import Response

from app.api.protocol import CheckedRoute, wire_ref
from app.api.responses import websocket
from app.api.responses.compact_protocol import CompactRequest, CompactResource
from app.api.responses.protocol import (
    Deleted,
    InputItemList,
    InputItemsQuery,
    ResponseCreateRequest,
    ResponseObject,
    StreamEvent,
)
from app.deps import BackgroundDep, CompactDep, ResponsesDep, StateDep, require
from app.identity.base import Identity
from app.json import JSONResponse
from app.sse import sse_response, stream_documented

router = APIRouter(tags=["responses"], route_class=CheckedRoute)
RESPONSE = wire_ref("ResponseObject", ResponseObject)
EVENT = wire_ref("ResponseStreamEvent", StreamEvent)
SESSION_HEADER_DOC = ("Working memory to read and extend; without it, the session of the "
                      "previous response, or a new one named after this response.")


@router.post("/responses", response_model=None, responses={200: stream_documented(
    RESPONSE, named=True, events=EVENT, data="With `stream: true`: each event named by its "
    "`type` (`response.created` ... `response.completed`), `data` the JSON event with its "
    "`sequence_number`.")})
async def create_response(
    body: ResponseCreateRequest, identity: Annotated[Identity, require("responses.write")],
    service: ResponsesDep, background: BackgroundDep,
    x_lukhas_session: Annotated[str | None, Header(description=SESSION_HEADER_DOC)] = None,
) -> Response:
    """Create a model response; `stream: true` answers with server-sent events. With
    `background: true` it is answered at once, `queued`, and runs on (streamed, it goes on
    if the client leaves). A WebSocket on this path creates responses too
    (`x-openresponses-websocket`)."""
    response: Response
    if body.background:
        queued, session_id = await background.create(identity, body, x_lukhas_session)
        response = (sse_response(background.follow(queued["id"], -1)) if body.stream
                    else JSONResponse(queued))
    elif body.stream:
        frames, session_id = await service.stream(identity, body, x_lukhas_session)
        response = sse_response(frames)
    else:
        created, session_id = await service.create(identity, body, x_lukhas_session)
        response = JSONResponse(created)
    if session_id is not None:
        response.headers["x-lukhas-session"] = session_id
    return response


@router.post("/responses/compact", response_model=None,
             responses={200: {"description": "The compacted window.", "content": {
                 "application/json": {"schema": wire_ref("CompactResource", CompactResource)}}}})
async def compact_response(
    body: CompactRequest, identity: Annotated[Identity, require("responses.write")],
    service: CompactDep,
) -> Response:
    """Compact a conversation into a window that a new response can start from."""
    compacted = await service.compact(identity, body)
    return JSONResponse(compacted)


@router.websocket("/responses")
async def responses_socket(socket: WebSocket, state: StateDep) -> None:
    """`response.create` messages in, each answered with its response's stream events."""
    await websocket.serve(socket, state)


@router.get("/responses/{response_id}", response_model=None, responses={200: stream_documented(
    RESPONSE, named=True, events=EVENT, data="With `stream=true`: the stored response's "
    "events replayed (after `starting_after` when given); a background response's followed "
    "live until it ends.")})
async def retrieve_response(
    response_id: str, identity: Annotated[Identity, require("responses.read")],
    service: ResponsesDep, background: BackgroundDep,
    stream: Annotated[bool, Query(description="Answer with the response's events.")] = False,
    starting_after: Annotated[int | None, Query(
        description="With `stream=true`: only the events whose `sequence_number` is "
                    "greater (to resume a stream).")] = None,
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
) -> Response:
    """A stored response (a background one as it stands: `queued`, `in_progress`, ...); with
    `stream=true`, its event stream."""
    if stream:
        return sse_response(await background.stream(identity, response_id, starting_after))
    return JSONResponse(await service.get(identity, response_id))


@router.post("/responses/{response_id}/cancel", response_model=None,
             responses={200: {"model": ResponseObject}})
async def cancel_response(
    response_id: str, identity: Annotated[Identity, require("responses.write")],
    background: BackgroundDep,
) -> dict[str, Any]:
    """Cancel a queued or running background response; it is returned `cancelled`."""
    return await background.cancel(identity, response_id)


@router.delete("/responses/{response_id}", response_model=None,
               responses={200: {"model": Deleted}})
async def delete_response(
    response_id: str, identity: Annotated[Identity, require("responses.write")],
    service: ResponsesDep,
) -> dict[str, Any]:
    """Delete a stored response."""
    return await service.delete(identity, response_id)


@router.get("/responses/{response_id}/input_items", response_model=None,
            responses={200: {"model": InputItemList}})
async def list_input_items(
    response_id: str, identity: Annotated[Identity, require("responses.read")],
    service: ResponsesDep, query: Annotated[InputItemsQuery, Query()],
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
) -> dict[str, Any]:
    """The input items of a stored response, newest first by default."""
    return await service.input_items(identity, response_id, query)
