"""One admission by the rate limiter, whatever carries the request: an HTTP request (the
rate-limit middleware) or a `response.create` message on a WebSocket (one turn counts as one
request, as over HTTP).

Tokens are estimated from the body (a quarter of its bytes, plus an allowance for the answer)
and settled with the real usage afterwards. If the limiter's store is unreachable the request
is admitted (fail open) and counted in `lukhas_ratelimit_fail_open_total`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from redis.exceptions import RedisError

from app.errors import RateLimited
from app.observability.metrics import Children, Metrics
from app.reliability.backoff import MAX_RETRY_AFTER_S
from app.reliability.durations import go_duration
from app.reliability.meter import RequestMeter
from app.reliability.ratelimit import Decision, Limit, Limiter, LimitsConfig

log = logging.getLogger("lukhas.ratelimit")
OUTPUT_ALLOWANCE = 512  # tokens assumed for the answer until the real count is known


@dataclass(frozen=True, slots=True)
class Admission:
    """An admitted request: what to settle afterwards, and the headers that tell its limit."""

    key: str
    route: str
    limit: Limit
    estimate: int
    decision: Decision | None  # None: the limiter was unreachable and the request let in

    def headers(self) -> list[tuple[str, str]]:
        """`x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (none if it failed open)."""
        return [] if self.decision is None else _headers(self.limit, self.decision)


def _headers(limit: Limit, d: Decision) -> list[tuple[str, str]]:
    headers = [("x-ratelimit-limit-requests", str(limit.requests)),
               ("x-ratelimit-remaining-requests", str(d.requests_remaining)),
               ("x-ratelimit-reset-requests", go_duration(d.requests_reset_s))]
    if limit.tokens is not None and d.tokens_remaining is not None:
        headers += [("x-ratelimit-limit-tokens", str(limit.tokens)),
                    ("x-ratelimit-remaining-tokens", str(d.tokens_remaining)),
                    ("x-ratelimit-reset-tokens", go_duration(d.tokens_reset_s))]
    return headers


class RateGate:
    """Admits and settles requests against the configured limits, per caller and route class."""

    def __init__(self, limits: LimitsConfig, limiter: Limiter, metrics: Metrics) -> None:
        self._limits = limits
        self._limiter = limiter
        self._metrics = metrics
        self._decisions = Children(metrics.ratelimit_decisions)

    def limit_for(self, path: str) -> tuple[str, Limit]:
        """The route class of `path` and its limit."""
        return self._limits.for_path(path)

    async def admit(self, subject: str, path: str, body_bytes: int) -> Admission:
        """Count one request of `subject` on `path` whose body is `body_bytes` long; raises
        `RateLimited` (429, with `retry-after` and the limit headers) if over the limit."""
        route, limit = self._limits.for_path(path)
        key = f"{subject}:{route}"
        estimate = 0
        if limit.tokens is not None and body_bytes:
            estimate = min(limit.tokens, math.ceil(body_bytes / 4) + OUTPUT_ALLOWANCE)
        try:
            decision = await self._limiter.acquire(key, limit, self._limits.window_seconds,
                                                   estimate)
        except (RedisError, OSError) as exc:
            self._metrics.ratelimit_fail_open.labels(route=route).inc()
            log.warning("rate limiter unavailable; admitting", extra={"error": str(exc)})
            return Admission(key, route, limit, estimate, None)
        self._decisions(route, "admitted" if decision.allowed else "limited").inc()
        if not decision.allowed:
            wait = min(MAX_RETRY_AFTER_S, max(0.001, decision.retry_after_s))
            raise RateLimited(
                f"Rate limit reached for {route} requests. Try again in {go_duration(wait)}.",
                retry_after_s=wait, headers=dict(_headers(limit, decision)),
            )
        return Admission(key, route, limit, estimate, decision)

    async def settle(self, admission: Admission, meter: RequestMeter) -> None:
        """Correct the token estimate with what the request really used."""
        if admission.decision is None or not admission.estimate:
            return
        delta = (meter.tokens if meter.measured else 0) - admission.estimate
        try:
            await self._limiter.settle(admission.key, admission.limit,
                                       self._limits.window_seconds, delta)
        except (RedisError, OSError):
            self._metrics.ratelimit_fail_open.labels(route=admission.route).inc()
