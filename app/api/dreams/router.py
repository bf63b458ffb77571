"""`/v1/dreams`: dreams over the caller's memory, queued here and advanced by the tick."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.api.dreams.protocol import (
    DreamCreate,
    DreamDeleted,
    DreamList,
    DreamObject,
    DreamsQuery,
)
from app.api.protocol import CheckedRoute
from app.deps import DreamsDep, require
from app.errors import InvalidRequest
from app.identity.base import Identity
from app.json import JSONResponse
from app.sse import sse_response, stream_documented

router = APIRouter(tags=["dreams"], route_class=CheckedRoute)
Dreamer = Annotated[Identity, require("dreams")]


def _only(request: Request, *names: str) -> None:
    """400 naming the first query parameter the route does not take (none is ignored)."""
    for name in request.query_params:
        if name not in names:
            raise InvalidRequest(f"Unknown parameter: '{name}'.", param=name,
                                 code="unknown_parameter")


_TRACE = ("The dream's trace: each event a frame named by its `type` (`dream.queued` ... "
          "`dream.completed`), `data` the JSON event (`DreamEvent`) with its "
          "`sequence_number`; the stream ends with the dream.")


@router.post("/dreams", response_model=None, responses={200: stream_documented(
    DreamObject, named=True, prefix="dream.", data="With `stream: true`: " + _TRACE)})
async def create_dream(body: DreamCreate, who: Dreamer, svc: DreamsDep,
                       request: Request) -> Response:
    """Queue a dream (answered at once, `status: queued`); `stream: true` follows its trace."""
    _only(request)
    created = await svc.create(who, body)
    if body.stream:
        return sse_response(await svc.open_stream(who, created["id"], None))
    return JSONResponse(created)


@router.get("/dreams", response_model=None, responses={200: {"model": DreamList}})
async def list_dreams(
    who: Dreamer, svc: DreamsDep, q: Annotated[DreamsQuery, Query()], request: Request,
) -> dict[str, Any]:
    """The caller's dreams, newest first by default."""
    _only(request, "after", "before", "limit", "order")
    return await svc.list(who, q)


@router.get("/dreams/{dream_id}", response_model=None, responses={200: stream_documented(
    DreamObject, named=True, prefix="dream.", data="With `stream=true`: " + _TRACE +
    " Events after `starting_after` when given.")})
async def retrieve_dream(
    dream_id: str, who: Dreamer, svc: DreamsDep, stream: bool = False,
    starting_after: Annotated[int | None, Query(ge=-1)] = None, *, request: Request,
) -> Response:
    """A dream; with `stream=true`, its trace (replayed, then followed to its end)."""
    _only(request, "stream", "starting_after")
    if stream:
        return sse_response(await svc.open_stream(who, dream_id, starting_after))
    return JSONResponse(await svc.get(who, dream_id))


@router.post("/dreams/{dream_id}/cancel", response_model=None,
             responses={200: {"model": DreamObject}})
async def cancel_dream(dream_id: str, who: Dreamer, svc: DreamsDep,
                       request: Request) -> dict[str, Any]:
    """Cancel a dream that has not ended."""
    _only(request)
    return await svc.cancel(who, dream_id)


@router.delete("/dreams/{dream_id}", response_model=None,
               responses={200: {"model": DreamDeleted}})
async def delete_dream(dream_id: str, who: Dreamer, svc: DreamsDep,
                       request: Request) -> dict[str, Any]:
    """Delete a dream with its trace (a running one stops)."""
    _only(request)
    return await svc.delete(who, dream_id)

