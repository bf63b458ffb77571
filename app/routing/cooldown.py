"""Cooldowns: a deployment that failed N times within a window is out of every pick for T s.

In-process and per worker, as LiteLLM's default is: a worker that sees an upstream fail stops
sending to it at once; the others find out from their own failures. The clock is injectable.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.routing.config import Cooldowns, FailureKind


@dataclass(frozen=True, slots=True)
class CooldownSnapshot:
    """Which deployments are out, as of `now`: what the pick function reads."""

    now: float = 0.0
    until: Mapping[str, float] = field(default_factory=dict)

    def is_cooling(self, deployment: str) -> bool:
        """Whether `deployment` is out of every pick at `now`."""
        return self.until.get(deployment, -math.inf) > self.now

    def remaining(self, deployment: str) -> float:
        """Seconds until `deployment` is back (0 when it is not cooling)."""
        return max(0.0, self.until.get(deployment, self.now) - self.now)


class CooldownTracker:
    """Failures per deployment in a sliding window; a cooldown once they reach the limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._until: dict[str, float] = {}

    def record_failure(self, deployment: str, kind: FailureKind, policy: Cooldowns) -> bool:
        """Count one failure of `deployment`; True when it starts a cooldown.

        The policy is passed on each call so a reloaded file applies at once; failures that
        arrive while the deployment is already out (requests sent before) extend nothing.
        """
        if kind not in policy.on_failures:
            return False
        now = self._clock()
        if self._until.get(deployment, -math.inf) > now:
            return False
        window = self._failures.get(deployment)
        if window is None or window.maxlen != policy.failures:
            window = deque(window or (), maxlen=policy.failures)
            self._failures[deployment] = window
        while window and window[0] <= now - policy.window_seconds:
            window.popleft()
        window.append(now)
        if len(window) < policy.failures:
            return False
        window.clear()
        self._until[deployment] = now + policy.cooldown_seconds
        return True

    def snapshot(self) -> CooldownSnapshot:
        """The deployments out right now (expired cooldowns are dropped)."""
        now = self._clock()
        for deployment in [d for d, until in self._until.items() if until <= now]:
            del self._until[deployment]
        return CooldownSnapshot(now, dict(self._until))
