"""Rate limits: GCRA (generic cell rate algorithm) on requests and tokens, atomically.

For a limit of `n` per window `w`, each unit of cost moves the key's theoretical arrival time
(TAT) forward by `w / n`; a call is admitted while `TAT - now <= w` after adding its cost, so a
full window's worth can burst, then capacity refills steadily. Requests and tokens are checked
together and both updated only when both admit. The Redis backend runs this as one Lua script
(one round trip, atomic across workers, on Redis's clock); the in-process backend runs the
same arithmetic.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from app.expiry import drop_expired

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "runtime" / "reliability.yaml"
ROUTE_CLASSES = (("/v1/responses", "responses"), ("/v1/chat/", "chat"),
                 ("/v1/models", "models"), ("/v1/identity/", "identity"),
                 ("/v1/embeddings", "embeddings"), ("/v1/indexes", "indexes"))


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    tokens: int | None  # None: this class is not limited by tokens


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    window_seconds: float
    default: Limit
    routes: dict[str, Limit]

    def for_path(self, path: str) -> tuple[str, Limit]:
        """The route class of `path` and its limit."""
        for prefix, name in ROUTE_CLASSES:
            if path.startswith(prefix) and name in self.routes:
                return name, self.routes[name]
        return "default", self.default


def load_limits(path: Path = DEFAULT_PATH) -> LimitsConfig:
    """Read `configs/runtime/reliability.yaml`."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text()) or {}

    def limit(spec: dict[str, Any]) -> Limit:
        tokens = spec.get("tokens")
        return Limit(int(spec["requests"]), None if tokens is None else int(tokens))

    return LimitsConfig(float(raw.get("window_seconds", 60)), limit(raw["default"]),
                        {name: limit(spec) for name, spec in (raw.get("routes") or {}).items()})


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float
    requests_remaining: int
    requests_reset_s: float
    tokens_remaining: int | None
    tokens_reset_s: float


def gcra(now: float, tats: list[float], intervals: list[float], costs: list[float],
         window: float) -> tuple[bool, float, list[float], list[float]]:
    """One GCRA step over several limits: (allowed, retry after, new TATs, resets)."""
    new_tats = [max(tat, now) + cost * interval
                for tat, interval, cost in zip(tats, intervals, costs, strict=True)]
    waits = [new_tat - now - window for new_tat in new_tats]
    allowed = all(w <= 0 for w in waits)
    result = new_tats if allowed else [max(t, now) for t in tats]
    return allowed, max(0.0, *waits), result, [t - now for t in result]


class Limiter(Protocol):
    async def acquire(self, key: str, limit: Limit, window: float, tokens: int) -> Decision:
        """Admit or refuse one call costing `tokens`, counting it if admitted."""
        ...

    async def settle(self, key: str, limit: Limit, window: float, delta_tokens: int) -> None:
        """Correct the token count by `delta_tokens` (actual minus estimated)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def decision(allowed: bool, retry: float, limit: Limit, window: float,
             resets: list[float]) -> Decision:
    """Remaining capacity and resets from the TAT offsets after the step."""
    req_interval = window / limit.requests
    req_remaining = max(0, math.floor((window - resets[0]) / req_interval))
    tok_remaining = None
    tok_reset = 0.0
    if limit.tokens is not None:
        tok_interval = window / limit.tokens
        tok_remaining = max(0, math.floor((window - resets[1]) / tok_interval))
        tok_reset = max(0.0, resets[1])
    return Decision(allowed, retry, req_remaining, max(0.0, resets[0]), tok_remaining, tok_reset)


class MemoryLimiter:
    """The in-process limiter (one process only)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._tats: dict[str, float] = {}
        self._clock = clock

    def _params(self, limit: Limit, window: float, tokens: int
                ) -> tuple[list[str], list[float], list[float]]:
        suffixes, intervals, costs = ["r"], [window / limit.requests], [1.0]
        if limit.tokens is not None:
            suffixes.append("t")
            intervals.append(window / limit.tokens)
            costs.append(float(tokens))
        return suffixes, intervals, costs

    async def acquire(self, key: str, limit: Limit, window: float, tokens: int) -> Decision:
        """GCRA step; nothing awaits inside, so it is atomic on the event loop."""
        now = self._clock()
        suffixes, intervals, costs = self._params(limit, window, tokens)
        tats = [self._tats.get(f"{key}:{s}", now) for s in suffixes]
        allowed, retry, new_tats, resets = gcra(now, tats, intervals, costs, window)
        if allowed:
            for suffix, tat in zip(suffixes, new_tats, strict=True):
                self._tats[f"{key}:{suffix}"] = tat
        return decision(allowed, retry, limit, window, resets)

    async def settle(self, key: str, limit: Limit, window: float, delta_tokens: int) -> None:
        """Move the token TAT by the correction (never before now)."""
        if limit.tokens is None or delta_tokens == 0:
            return
        now = self._clock()
        tat = max(self._tats.get(f"{key}:t", now), now)
        self._tats[f"{key}:t"] = max(now, tat + delta_tokens * window / limit.tokens)

    def sweep_expired(self) -> int:
        """Forget keys whose capacity has fully refilled (their TAT is past)."""
        now = self._clock()
        return drop_expired(self._tats, lambda tat: tat <= now)

    async def close(self) -> None:
        """Nothing to release."""
