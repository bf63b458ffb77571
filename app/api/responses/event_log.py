"""A background response's event log (`response_events`): written by its run, in groups,
and followed by anyone, from any replica.

A follower in the process that writes is woken by each write; one elsewhere reads the log
every `_POLL_S`. A follower stops at the terminal event, or when the response is cancelled or
gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.db.repositories import background as repo
from app.sse import named_frames

_POLL_S = 0.25  # how soon a follower sees events written by another replica
_TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})

Events = list[dict[str, Any]]


class EventLog:
    def __init__(self, pool: Any, quiet_s: float) -> None:
        self._pool = pool
        # How long a follower waits for the last events of a response already ended (its
        # runner may have stopped between storing the end and logging it).
        self._quiet_s = quiet_s
        self._changed: dict[str, asyncio.Event] = {}  # followers here, woken by new events

    def writer(self, rid: str) -> LogWriter:
        """The writer of one run's events."""
        return LogWriter(lambda events: self.append(rid, events))

    async def append(self, rid: str, events: Events) -> None:
        """Write `events` (each with its `sequence_number`) to the log of `rid`."""
        async with self._pool.acquire() as conn:
            await repo.append_events(conn, rid, events)
        self.notify(rid)

    def notify(self, rid: str) -> None:
        """Wake this process's followers of `rid`: its log or its status changed."""
        changed = self._changed.pop(rid, None)
        if changed is not None:
            changed.set()

    async def follow(self, rid: str, after: int) -> AsyncIterator[bytes]:
        """The log of `rid` after `after`, then its new events as they come, until its
        terminal event (or its cancellation)."""
        quiet_since = time.monotonic()
        closing = False
        try:
            while True:
                changed = self._changed.setdefault(rid, asyncio.Event())
                async with self._pool.acquire() as conn:
                    events = await repo.events_after(conn, rid, after)
                    status = None if events else await repo.status(conn, rid)
                    last = (None if events or status in (None, *repo.UNFINISHED)
                            else await repo.last_event(conn, rid))
                if events:
                    yield named_frames(events)
                    after = events[-1]["sequence_number"]
                    if events[-1]["type"] in _TERMINAL_EVENTS:
                        return
                    quiet_since = time.monotonic()
                    continue
                if status is None or (status == "cancelled" and closing):
                    return
                if status == "cancelled":
                    closing = True  # one more read, for what was logged before it
                    continue
                if last is not None and last[1] in _TERMINAL_EVENTS:
                    if last[0] > after:
                        continue  # logged since the read above: send it first
                    return
                if (status not in repo.UNFINISHED
                        and time.monotonic() - quiet_since > self._quiet_s):
                    return  # ended, and its runner stopped before logging the end
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), _POLL_S)
        finally:
            waiting = self._changed.get(rid)
            if waiting is not None and not waiting.is_set():
                self._changed.pop(rid, None)


class LogWriter:
    """One run's writes to its event log, in order. A write starts as soon as the one before
    it is done, with every event that came meanwhile: a fast model's many small batches
    become a few writes, a slow model's each go out at once."""

    def __init__(self, write: Callable[[Events], Awaitable[None]]) -> None:
        self._write = write
        self._pending: Events = []
        self._writing: asyncio.Task[None] | None = None
        self._error: Exception | None = None

    def add(self, events: Events) -> None:
        """Queue `events` for writing (raises what an earlier write raised)."""
        if self._error is not None:
            raise self._error
        self._pending += events
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._pending:
                events, self._pending = self._pending, []
                await self._write(events)
        except Exception as exc:
            self._error = exc

    async def flush(self) -> None:
        """Wait until every event added is written (raises what a write raised)."""
        if self._writing is not None:
            await self._writing
        if self._error is not None:
            raise self._error

    async def abort(self) -> None:
        """Stop writing: a write under way is cancelled and waited for."""
        if self._writing is not None and not self._writing.done():
            self._writing.cancel()
            await asyncio.gather(self._writing, return_exceptions=True)
