"""The tokens one request used, for the rate limiter to settle its estimate.

The rate-limit middleware puts a `RequestMeter` in a context variable; the orchestrator adds
each run's usage to it. Tasks started for the response (an SSE stream) copy the context, so
they add to the same meter.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class RequestMeter:
    tokens: int = 0
    measured: bool = False

    def add(self, tokens: int) -> None:
        """Count `tokens` used by a pipeline run."""
        self.tokens += tokens
        self.measured = True


request_meter: ContextVar[RequestMeter | None] = ContextVar("lukhas_request_meter",
                                                            default=None)
