"""The tokens one request used, for the rate limiter to settle its estimate.

The rate-limit middleware puts a `RequestMeter` in a context variable; the orchestrator adds
each run's usage to it. Tasks started for the response (an SSE stream, a background run) copy
the context, so they add to the same meter; a background run holds the settling until it ends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

Settle = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class RequestMeter:
    tokens: int = 0
    measured: bool = False
    # Runs the request left going (background responses): the settling waits for them.
    held: int = 0
    _settle: Settle | None = field(default=None, repr=False)

    def add(self, tokens: int) -> None:
        """Count `tokens` used by a pipeline run."""
        self.tokens += tokens
        self.measured = True

    def hold(self) -> None:
        """A run that outlives the request will add its usage later."""
        self.held += 1

    async def release(self) -> None:
        """A held run has ended; settle now if the request has ended too."""
        self.held -= 1
        if not self.held and self._settle is not None:
            settle, self._settle = self._settle, None
            await settle()

    async def settle_when_done(self, settle: Settle) -> None:
        """Settle now, or when the last held run ends."""
        if self.held:
            self._settle = settle
        else:
            await settle()


request_meter: ContextVar[RequestMeter | None] = ContextVar("lukhas_request_meter",
                                                            default=None)
