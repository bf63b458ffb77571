"""HTTP request metrics: prometheus-fastapi-instrumentator's metric functions, recorded lean.

The metrics are the instrumentator's own (`http_requests_total`,
`http_request_duration_seconds`, labelled by method, route template and grouped status), made
by its `metrics.requests()` and `metrics.latency()`. Its middleware is not used: per request
it matches the path against every route a second time and builds a Request, a Response and a
header map that these two metrics never read. This one reads the template from the route the
router matched (`scope["route"]`) once the response is done, and hands the instrumentator's
functions an `Info` with just what they read.

A route of an included router knows only its own path; the template with the router's prefix
(`/v1/...`) comes from the application's table of effective routes, read once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_fastapi_instrumentator.metrics import Info
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Instrumentation = Callable[[Info], Any]
UNTEMPLATED = "none"  # the instrumentator's label for a path that matched no route


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, instrumentations: Iterable[Instrumentation | None],
                 excluded_handlers: Iterable[str] = ()) -> None:
        self.app = app
        # The instrumentator's factories give None for a metric its registry already has.
        self._instrumentations = tuple(i for i in instrumentations if i is not None)
        self._excluded = frozenset(excluded_handlers)
        self._templates: dict[int, str] | None = None

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            return UNTEMPLATED
        if self._templates is None:
            self._templates = _templates(scope["app"].routes)
        template = self._templates.get(id(route))
        return template or getattr(route, "path_format", None) or UNTEMPLATED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        first_byte = 0.0

        async def send_status(message: Message) -> None:
            nonlocal status, first_byte
            if message["type"] == "http.response.start":
                status = message["status"]
                first_byte = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            handler = self._template(scope)
            if handler not in self._excluded:
                ended = time.perf_counter()
                info = Info(
                    request=None,  # type: ignore[arg-type]  # not read by these metrics
                    response=None, method=scope["method"], modified_handler=handler,
                    modified_status=f"{str(status)[0]}xx",
                    modified_duration=ended - started,
                    modified_duration_without_streaming=(first_byte or ended) - started,
                )
                for instrumentation in self._instrumentations:
                    instrumentation(info)


def _templates(routes: Iterable[Any]) -> dict[int, str]:
    """Each route's full path template, by the route's identity. FastAPI (since 0.116) keeps
    an included router whole and lists its routes, prefixed, as effective route contexts;
    earlier versions copy each route with the prefix in its own path."""
    found: dict[int, str] = {}
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for context in contexts():
                original = getattr(context, "original_route", None)
                path = getattr(context, "path_format", None)
                if original is not None and path:
                    found[id(original)] = path
        elif path := getattr(route, "path_format", None):
            found[id(route)] = path
    return found
