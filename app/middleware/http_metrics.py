"""HTTP request metrics: the two prometheus-fastapi-instrumentator records by default,
under its names, labels and help, recorded lean.

`http_requests_total` and `http_request_duration_seconds` (a histogram), labelled by route
template, method and grouped status, as the instrumentator's `metrics.requests()` and
`metrics.latency()` make them (dashboards and alert rules read these names). Neither its
middleware nor its metric functions run per request: the middleware matched the path against
every route a second time and built a Request, a Response and a header map these metrics
never read; the functions built an `Info` and looked each metric's labelled child up again
(a lock and a key every call, ~20 µs a request together). Here the template comes from the
route the router matched (`scope["route"]`) once the response is done, and each
(template, method, status) pair's two children are looked up once.

A route of an included router knows only its own path; the template with the router's prefix
(`/v1/...`) comes from the application's table of effective routes, read once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.metrics import Children

UNTEMPLATED = "none"  # the instrumentator's label for a path that matched no route
_LABELS = ("handler", "method", "status")


class HttpMetrics:
    """The two metrics, registered once per registry (the middleware is built again each
    time the stack is), their children looked up once per set of label values."""

    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float]) -> None:
        self._requests = Children(Counter(
            "http_requests_total", "Total number of requests by method, status and handler.",
            _LABELS, registry=registry))
        self._latency = Children(Histogram(
            "http_request_duration_seconds", "Duration of HTTP requests in seconds",
            _LABELS, buckets=buckets, registry=registry))

    def record(self, handler: str, method: str, status: str, seconds: float) -> None:
        self._requests(handler, method, status).inc()
        self._latency(handler, method, status).observe(seconds)


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics,
                 excluded_handlers: Iterable[str] = ()) -> None:
        self.app = app
        self._metrics = metrics
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

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            handler = self._template(scope)
            if handler not in self._excluded:
                self._metrics.record(handler, scope["method"], f"{str(status)[0]}xx",
                                     time.perf_counter() - started)


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
