"""Give every request an id, echo it as `x-request-id`, and put it in the log context.

A well-formed incoming `x-request-id` is kept so ids can be followed across services, and
the trace id of an incoming `traceparent` goes into the log context too. A WebSocket gets one
for its connection, echoed on the handshake's answer (each of its turns logs under an id of
its own, app/api/responses/websocket.py).
"""

from __future__ import annotations

import logging
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ids import random_hex
from app.observability.logging import request_id_var, trace_id_var

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# W3C Trace Context: version-traceid-parentid-flags (https://www.w3.org/TR/trace-context/).
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
access_log = logging.getLogger("lukhas.access")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = traceparent = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key == b"traceparent":
                traceparent = value.decode("latin-1")
        request_id = incoming if _VALID.match(incoming) else "req_" + random_hex(16)
        token = request_id_var.set(request_id)
        # Also kept in the request's state: an unhandled error is rendered outside this
        # middleware (Starlette's outermost layer), after the context above is reset.
        scope.setdefault("state", {})["request_id"] = request_id
        trace = _TRACEPARENT.match(traceparent)
        trace_token = trace_id_var.set(trace.group(1) if trace else None)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start",
                        "websocket.accept"):
                status = message.get("status", 101)
                message.setdefault("headers", [])
                MutableHeaders(scope=message)["x-request-id"] = request_id
            elif kind == "websocket.close" and not status:
                status = 403  # closed before the handshake completed: the server answers 403
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                access_log.info(
                    "request", extra={"method": scope.get("method", "GET"),
                                      "path": scope["path"],
                                      "status": status,
                                      "ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            request_id_var.reset(token)
            trace_id_var.reset(trace_token)
