"""Per-identity, per-route-class rate limits, answered as OpenAI clients expect.

Admitted `/v1` responses carry `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`; a
refused call gets 429 `rate_limit_exceeded` with `retry-after` and `retry-after-ms` (capped at
60 s, the most the Node SDK honours). Tokens are estimated from the body (a quarter of its
bytes, plus an allowance for the answer) and settled with the real usage afterwards. If the
limiter's store is unreachable the request is admitted (fail open) and counted.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from redis.exceptions import RedisError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RateLimited, error_response
from app.reliability.backoff import MAX_RETRY_AFTER_S
from app.reliability.durations import go_duration
from app.reliability.meter import RequestMeter, request_meter
from app.reliability.ratelimit import Decision, Limit

log = logging.getLogger("lukhas.ratelimit")
OUTPUT_ALLOWANCE = 512  # tokens assumed for the answer until the real count is known


def _headers(limit: Limit, d: Decision) -> list[tuple[str, str]]:
    headers = [("x-ratelimit-limit-requests", str(limit.requests)),
               ("x-ratelimit-remaining-requests", str(d.requests_remaining)),
               ("x-ratelimit-reset-requests", go_duration(d.requests_reset_s))]
    if limit.tokens is not None and d.tokens_remaining is not None:
        headers += [("x-ratelimit-limit-tokens", str(limit.tokens)),
                    ("x-ratelimit-remaining-tokens", str(d.tokens_remaining)),
                    ("x-ratelimit-reset-tokens", go_duration(d.tokens_reset_s))]
    return headers


async def _read_body(receive: Receive) -> list[Message]:
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
        config = state.limits
        route, limit = config.for_path(scope["path"])
        key = f"{identity.subject}:{route}"
        # The body is read ahead only where a token limit needs its size.
        messages: list[Message] = []
        if limit.tokens is not None and scope["method"] in ("POST", "PUT"):
            messages = await _read_body(receive)
        body_bytes = sum(len(m.get("body", b"")) for m in messages)
        estimate = 0
        if limit.tokens is not None and body_bytes:
            estimate = min(limit.tokens, math.ceil(body_bytes / 4) + OUTPUT_ALLOWANCE)
        try:
            decision = await state.limiter.acquire(key, limit, config.window_seconds, estimate)
        except (RedisError, OSError) as exc:
            state.metrics.ratelimit_fail_open.labels(route=route).inc()
            log.warning("rate limiter unavailable; admitting", extra={"error": str(exc)})
            decision = None
        if decision is not None:
            state.metrics.ratelimit_decisions.labels(
                route=route, status="admitted" if decision.allowed else "limited").inc()
        headers = [] if decision is None else _headers(limit, decision)
        if decision is not None and not decision.allowed:
            wait = min(MAX_RETRY_AFTER_S, max(0.001, decision.retry_after_s))
            error = RateLimited(
                f"Rate limit reached for {route} requests. Try again in {go_duration(wait)}.",
                retry_after_s=wait, headers=dict(headers),
            )
            await error_response(error)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for name, value in headers:
                    mutable[name] = value
            await send(message)

        meter = RequestMeter()
        token = request_meter.set(meter)
        try:
            await self.app(scope, replay if messages else receive, send_with_headers)
        finally:
            request_meter.reset(token)
            if decision is not None and estimate:
                delta = (meter.tokens if meter.measured else 0) - estimate
                try:
                    await state.limiter.settle(key, limit, config.window_seconds, delta)
                except (RedisError, OSError):
                    state.metrics.ratelimit_fail_open.labels(route=route).inc()
