"""Give every request an id, echo it as `x-request-id`, and put it in the log context.

A well-formed incoming `x-request-id` is kept so ids can be followed across services.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import request_id_var

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("lukhas.access")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"").decode(
            "latin-1"
        )
        request_id = incoming if _VALID.match(incoming) else "req_" + secrets.token_hex(16)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                access_log.info(
                    "request", extra={"method": scope["method"], "path": scope["path"],
                                      "status": status,
                                      "ms": round((time.perf_counter() - started) * 1000, 2)},
                )
            request_id_var.reset(token)
