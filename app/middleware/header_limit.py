"""Refuse a request whose target and headers exceed `LUKHAS_MAX_HEADER_BYTES` with a 431.

`lukhas serve` bounds what it buffers of headers still arriving (app/http_protocol.py), but
a header block that arrives in one read is parsed whole whatever its size; this counts it
exactly, as it would be on the wire (`name: value\\r\\n`), under any server. A WebSocket's
upgrade request is held to the same bound.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import HeadersTooLarge, refuse


class HeaderLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
            size += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                error = HeadersTooLarge(
                    f"The request line and headers are {size} bytes, more than the limit of "
                    f"{self.max_bytes} bytes.", headers={"connection": "close"},
                )
                await refuse(error, scope, receive, send)
                return
        await self.app(scope, receive, send)
