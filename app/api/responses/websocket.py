"""The Responses API over a WebSocket on `/v1/responses` (Open Responses 2026-04-24, "WebSocket
Transport"; OpenAI's WebSocket mode).

The caller is resolved from the upgrade request as for HTTP (a refusal answers the handshake:
401, 403, 429 ...). Then each `response.create` message (the create body plus `type`; without
the HTTP fields `stream`, `stream_options` and `background`) is one turn: counted by the rate
limiter like one HTTP request, met by the kill switch and the Guardian's request check as an
HTTP request is (app/guardian/request_check.py), checked like an HTTP body, and answered
with the events a streamed HTTP response carries, the same JSON with the same sequence
numbers, one event per message, from the same stream (`ResponsesService.stream_events`). A
turn that fails before its response starts is answered `{"type": "error", "status",
"error": {...}}` (app/errors.py); one that fails after ends with `response.failed`, as over
SSE.

One response is in flight per socket: a `response.create` while one runs is refused (409
`response_already_in_flight`) and the running one goes on. The socket keeps its most recent
response in memory (`_Local`) when storage cannot give its conversation back (`store: false`,
or a chain that passes through one), so `previous_response_id` naming it continues on this
socket; other ids are read from storage as over HTTP. A continuation that fails evicts the
response it named, which then answers `previous_response_not_found`. After
`LUKHAS_WEBSOCKET_MAX_SECONDS` (60 minutes) the response under way finishes, then the socket
gets `websocket_connection_limit_reached` and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from app.api.responses.protocol import ResponseCreateRequest
from app.api.responses.service import ResponseStream
from app.core.turns import Turn
from app.deps import check_scope
from app.errors import (
    APIError,
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    PayloadTooLarge,
    ServerError,
    json_too_deep,
    refuse,
    socket_error,
    validation_error,
)
from app.guardian.request_check import check_request
from app.identity.base import Identity
from app.ids import random_hex
from app.json import BadValue, check_value, loads
from app.observability.logging import request_id_var
from app.reliability.gate import RateGate
from app.reliability.meter import RequestMeter, request_meter
from app.sessions.effects import check_session_id
from app.sse import event_json
from app.state import AppState

log = logging.getLogger("lukhas.responses.websocket")

PATH = "/v1/responses"
CREATE = "response.create"
HTTP_ONLY = ("stream", "stream_options", "background")  # MUST NOT be sent on a WebSocket


class _Gone(Exception):
    """The client went away: nothing more can be sent."""


@dataclass(frozen=True, slots=True)
class _Local:
    """The socket's most recent response and the conversation it closes, oldest turn first."""

    response_id: str
    conversation: list[Turn]


async def serve(websocket: WebSocket, state: AppState) -> None:
    """Accept the socket (or refuse its handshake) and serve its turns until it ends."""
    identity: Identity | None = websocket.scope.get("state", {}).get("identity")
    try:
        if identity is None:  # only reachable if the route is mounted outside the identity step
            raise AuthenticationFailed("Authentication required.")
        check_scope(identity, "responses.write")
        session_id = check_session_id(websocket.headers.get("x-lukhas-session"))
    except APIError as error:
        await refuse(error, websocket.scope, websocket.receive, websocket.send)
        return
    await websocket.accept()
    await ResponsesSocket(websocket, state, identity, session_id).serve()


class ResponsesSocket:
    """One accepted socket: reads messages, runs one turn at a time, keeps `_Local`."""

    def __init__(self, websocket: WebSocket, state: AppState, identity: Identity,
                 session_id: str | None) -> None:
        self._ws = websocket
        self._state = state
        self._identity = identity
        self._session_id = session_id
        self._gate = RateGate(state.limits, state.limiter, state.metrics)
        self._local: _Local | None = None
        self._turn: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        """Read until the client leaves or the connection's time is up."""
        metrics = self._state.metrics
        metrics.websocket_connections.inc()
        deadline = asyncio.get_running_loop().time() + self._state.settings.websocket_max_seconds
        try:
            while (raw := await self._receive(deadline)) is not None:
                if self._turn is not None and not self._turn.done():
                    metrics.websocket_turns.labels(outcome="error").inc()
                    await self._send_error(Conflict(
                        "A response is already in progress on this connection; send the next "
                        "response.create after its terminal event, or open another "
                        "connection to run responses in parallel.",
                        code="response_already_in_flight"))
                    continue
                self._turn = asyncio.create_task(self._run_turn(raw))
            # The time is up: the response under way ends as it would, then the socket closes.
            if self._turn is not None:
                await self._turn
            limit = self._state.settings.websocket_max_seconds
            await self._send_error(InvalidRequest(
                f"This connection reached its limit of {limit:g} seconds; open a new "
                "connection to continue (a stored response continues from its id; otherwise "
                "send the whole input).", code="websocket_connection_limit_reached"))
            await self._close(1000, "websocket_connection_limit_reached")
        except _Gone:
            pass
        finally:
            if self._turn is not None and not self._turn.done():
                self._turn.cancel()  # the client left mid-response: the stream cleans up
                with contextlib.suppress(asyncio.CancelledError):
                    await self._turn
            metrics.websocket_connections.dec()

    async def _receive(self, deadline: float) -> bytes | None:
        """The next message's bytes; None once the deadline has passed."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return None
        try:
            async with asyncio.timeout(remaining):
                message = await self._ws.receive()
        except TimeoutError:
            return None
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise _Gone from exc
        if message["type"] == "websocket.disconnect":
            raise _Gone
        text = message.get("text")
        return text.encode() if text is not None else bytes(message.get("bytes") or b"")

    async def _run_turn(self, raw: bytes) -> None:
        """One `response.create`: refused with an error message, or answered with its
        response's events. Never raises: a turn's failure is the client's to read."""
        token = request_id_var.set("req_" + random_hex(16))
        previous: str | None = None
        outcome = "error"
        try:
            event = self._parse(raw)
            previous = event.get("previous_response_id")
            self._check_identity()
            await self._guard(event)
            admission = await self._gate.admit(self._identity.subject, PATH, len(raw))
            meter = RequestMeter()
            meter_token = request_meter.set(meter)
            try:
                outcome = await self._respond(_request(event))
            finally:
                request_meter.reset(meter_token)
                await self._gate.settle(admission, meter)
        except (_Gone, asyncio.CancelledError) as gone:
            outcome = "left"
            if isinstance(gone, asyncio.CancelledError):
                raise
        except APIError as error:
            await self._fail(error, previous)
        except Exception:
            log.exception("websocket turn failed")
            await self._fail(ServerError("The server had an error while processing your "
                                         "request."), previous)
        finally:
            self._state.metrics.websocket_turns.labels(outcome=outcome).inc()
            request_id_var.reset(token)

    def _parse(self, raw: bytes) -> dict[str, Any]:
        """The message as a JSON object of type `response.create`."""
        if len(raw) > self._state.settings.max_request_bytes:
            raise PayloadTooLarge(f"The message is larger than the limit of "
                                  f"{self._state.settings.max_request_bytes} bytes.")
        try:
            event = loads(raw)
        except RecursionError:
            raise json_too_deep() from None
        except ValueError:
            raise InvalidRequest("A message must be a JSON object (UTF-8), such as "
                                 '{"type": "response.create", "model": ..., "input": ...}.',
                                 code="invalid_json") from None
        if not isinstance(event, dict):
            raise InvalidRequest("A message must be a JSON object.", code="invalid_json")
        kind = event.get("type")
        if kind != CREATE:
            if kind is None:
                raise InvalidRequest("Missing required parameter: 'type'.", param="type",
                                     code="missing_required_parameter")
            raise InvalidRequest(f"Unknown message type {str(kind)[:64]!r}: a client sends "
                                 f"'{CREATE}'.", param="type", code="invalid_value")
        return event

    async def _guard(self, event: dict[str, Any]) -> None:
        """The kill switch and the Guardian's request check, as an HTTP request meets them
        in its middleware: a refusal is this turn's error message."""
        enforcement = self._state.enforcement
        refusal = await enforcement.stopped(self._identity, PATH)
        if refusal is None:
            checked = await check_request(
                self._state.guardian, enforcement, PATH, event, actor=self._identity.subject,
                request_id=request_id_var.get() or "",
                max_file_bytes=self._state.settings.max_file_bytes)
            refusal = checked.refusal
        if refusal is not None:
            raise refusal

    def _check_identity(self) -> None:
        """A ΛiD token that has expired since the handshake ends the socket's turns."""
        expires = self._identity.expires_at
        leeway = self._state.settings.lid_leeway_seconds
        if expires is not None and time.time() > expires + leeway:
            raise AuthenticationFailed("The token has expired; open a new connection with a "
                                       "valid credential.", code="token_expired")

    async def _respond(self, req: ResponseCreateRequest) -> str:
        """Run the response and send its events; how it ended."""
        local = self._local
        chain = None
        if local is not None and req.previous_response_id == local.response_id:
            chain = local.conversation
        started = await self._state.responses.stream_events(self._identity, req,
                                                             self._session_id, chain)
        async with contextlib.aclosing(started.events) as events:
            async for batch in events:
                for event in batch:
                    await self._send(event_json(event))
        status = "failed" if started.final is None else started.final.status
        if status == "failed":
            self._evict(req.previous_response_id)
        else:
            self._remember(req, started, continued_locally=chain is not None)
        return status

    def _remember(self, req: ResponseCreateRequest, started: ResponseStream, *,
                  continued_locally: bool) -> None:
        """Keep the response if storage cannot give its conversation back; otherwise its
        id is read from storage, as over HTTP."""
        if req.store is not False and not continued_locally:
            self._local = None
            return
        budget = self._state.settings.max_request_bytes
        conversation = started.conversation()
        # At most what one HTTP request could carry: the oldest turns go first.
        while len(conversation) > 1 and sum(len(t.text) for t in conversation) > budget:
            del conversation[0]
        self._local = _Local(started.response_id, conversation)

    def _evict(self, previous: object) -> None:
        if self._local is not None and previous == self._local.response_id:
            self._local = None

    async def _fail(self, error: APIError, previous: object) -> None:
        """Send the error; a continuation that failed evicts the response it named."""
        self._evict(previous)
        try:
            await self._send_error(error)
            if isinstance(error, AuthenticationFailed):
                await self._close(1008, error.code or "")
        except _Gone:
            pass

    async def _send_error(self, error: APIError) -> None:
        await self._send(event_json(socket_error(error)))

    async def _send(self, data: bytes) -> None:
        try:
            await self._ws.send({"type": "websocket.send", "text": data.decode()})
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            raise _Gone from exc

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self._ws.close(code, reason)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:
            raise _Gone from exc


def _request(event: dict[str, Any]) -> ResponseCreateRequest:
    """The create body of a `response.create` message, checked and validated as an HTTP body
    is (app/api/protocol.py); it streams."""
    try:
        check_value(event)
    except BadValue as bad:
        raise InvalidRequest(bad.message, param=bad.param, code="invalid_value") from None
    for name in HTTP_ONLY:
        if name in event:
            raise InvalidRequest(f"'{name}' is an HTTP field and is not sent on a WebSocket "
                                 "(its responses always stream).", param=name,
                                 code="unsupported_parameter")
    if "stream_id" in event:
        raise InvalidRequest("'stream_id' (lanes) is not supported: one response runs at a "
                             "time on a connection; open more connections to run responses "
                             "in parallel.", param="stream_id", code="unsupported_parameter")
    if event.get("generate", True) is not True:
        raise InvalidRequest("'generate: false' (warming up without a response) is not "
                             "supported.", param="generate", code="unsupported_parameter")
    body = {k: v for k, v in event.items() if k not in ("type", "generate")}
    try:
        return ResponseCreateRequest.model_validate({**body, "stream": True})
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise validation_error(RequestValidationError(errors)) from None
