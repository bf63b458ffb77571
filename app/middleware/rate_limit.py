"""Per-identity, per-route-class rate limits, answered as OpenAI clients expect.

Admitted `/v1` responses carry `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`; a
refused call gets 429 `rate_limit_exceeded` with `retry-after` and `retry-after-ms` (capped at
60 s, the most the Node SDK honours). The admission itself (token estimate, fail open,
settling with the real usage) is app/reliability/gate.py's, which a WebSocket's turns go
through too: the upgrade of a WebSocket is not counted here, each `response.create` on it is.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RateLimited, error_response
from app.reliability.gate import RateGate
from app.reliability.meter import RequestMeter, request_meter


async def read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        identity = scope.get("state", {}).get("identity")
        if scope["type"] != "http" or identity is None or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state.lukhas
        gate = RateGate(state.limits, state.limiter, state.metrics)
        _, limit = gate.limit_for(scope["path"])
        # The body is read ahead only where a token limit needs its size.
        messages: list[Message] = []
        if limit.tokens is not None and scope["method"] in ("POST", "PUT"):
            messages = await read_body(receive)
        body_bytes = sum(len(m.get("body", b"")) for m in messages)
        try:
            admission = await gate.admit(identity.subject, scope["path"], body_bytes)
        except RateLimited as refused:
            await error_response(refused)(scope, receive, send)
            return
        # Names no route sets: appended, without a search of the response's headers each.
        headers = [(name.encode(), value.encode()) for name, value in admission.headers()]

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        meter = RequestMeter()
        token = request_meter.set(meter)
        try:
            await self.app(scope, replay if messages else receive, send_with_headers)
        finally:
            request_meter.reset(token)
            await meter.settle_when_done(lambda: gate.settle(admission, meter))
