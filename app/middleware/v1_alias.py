"""Serve the OpenAI routes without their `/v1` prefix too, for clients whose base URL lacks it.

A rewrite of the path, not a second set of routes: the route table (which routing, tracing
and metrics each scan per request) stays as small as it is.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

ALIASED = ("/responses", "/chat/completions", "/models")


def needs_prefix(path: str) -> bool:
    """True for an OpenAI route written without `/v1`."""
    return any(path == p or path.startswith(p + "/") for p in ALIASED)


class V1AliasMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and needs_prefix(scope["path"]):
            raw = scope.get("raw_path") or scope["path"].encode()
            scope = {**scope, "path": "/v1" + scope["path"], "raw_path": b"/v1" + raw}
        await self.app(scope, receive, send)
