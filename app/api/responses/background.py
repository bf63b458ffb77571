"""Background responses (`background: true`): created `queued`, run on the service's task
runner, followed by polling or by their event log, cancelled on request.

https://platform.openai.com/docs/guides/background. The request is checked when it is made
(a bad one is a 400 then, not a failed response later); the run starts when the runner has a
free slot, and moves the stored response from `queued` through `in_progress` to its end.
Every event it emits goes to the response's log in PostgreSQL (`response_events`), so any
replica can replay it after `starting_after` and follow it live (event_log.py).

The runner holds a lease on each response it was given and renews it while it holds it.
When the service stops, runs get a grace period, then are cancelled and marked failed; when
it dies, the lease lapses and any replica's sweep (at start, then periodically) marks the
response failed with `_LOST`. Nothing is re-run: a model's half-sent answer is not repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from app.api.protocol import plain
from app.api.responses.event_log import EventLog
from app.api.responses.protocol import ResponseCreateRequest
from app.api.responses.service import PreparedStream, ResponsesService
from app.db.repositories import background as repo
from app.errors import APIError, InvalidRequest, NotFound
from app.identity.base import Identity
from app.observability.metrics import Metrics
from app.reliability.meter import RequestMeter, request_meter
from app.reliability.runner import TaskRunner

log = logging.getLogger("lukhas.responses.background")

_RENEW_MAX_S = 1.0  # how soon a runner sees a cancel made on another replica
_LOST = {"code": "server_error",
         "message": "The service stopped before this background response finished (a restart "
                    "or a failure); create it again."}
_STOPPED = {"code": "server_error",
            "message": "The service was stopping and this background response did not finish "
                       "in time; create it again."}


class BackgroundResponses:
    def __init__(self, pool: Any, responses: ResponsesService, runner: TaskRunner,
                 lease_s: float, metrics: Metrics) -> None:
        self._pool = pool
        self._responses = responses
        self._runner = runner
        self._lease_s = lease_s
        self._ended = metrics.background_ended
        metrics.background_responses.labels(status="queued").set_function(
            lambda: runner.waiting)
        metrics.background_responses.labels(status="in_progress").set_function(
            lambda: runner.running)
        self._log = EventLog(pool, lease_s)
        self._keeper: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        """How many background responses this process holds (waiting here, or running)."""
        return len(self._runner.keys())

    # -- lifespan -----------------------------------------------------------------------

    async def start(self) -> None:
        """Fail what lost its runner, then keep leases and sweep, until `stop`."""
        await self.sweep()
        self._keeper = asyncio.get_running_loop().create_task(self._keep(),
                                                              name="background leases")

    async def stop(self, grace_s: float) -> None:
        """Let runs finish for up to `grace_s`; cancel the rest, and mark them failed."""
        left = await self._runner.drain(grace_s)
        await self._runner.close()
        for rid in left:  # now that nothing else writes their logs
            try:
                if await self._end(rid, None, _STOPPED):
                    self._ended.labels(outcome="stopped").inc()
            except Exception:
                log.warning("could not mark a stopped background response failed",
                            exc_info=True, extra={"response_id": rid})
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper

    async def sweep(self) -> int:
        """Mark failed the unfinished responses whose runner's lease lapsed; how many."""
        async with self._pool.acquire() as conn:
            failed = await repo.fail_lapsed(conn, _LOST)
        for body in failed:
            log.warning("background response lost its runner",
                        extra={"response_id": body["id"]})
            self._log.notify(body["id"])
        if failed:
            self._ended.labels(outcome="lapsed").inc(len(failed))
        return len(failed)

    async def _keep(self) -> None:
        period = min(_RENEW_MAX_S, self._lease_s / 3)
        sweep_every = max(1, round(self._lease_s / 3 / period))
        rounds = 0
        while True:
            await asyncio.sleep(period)
            rounds += 1
            try:
                held = self._runner.keys()
                if held:
                    async with self._pool.acquire() as conn:
                        statuses = await repo.renew(conn, held, self._lease_s)
                    # Cancelled or deleted, maybe on another replica. (One that has ended
                    # otherwise is left to log its last events.)
                    for rid in held:
                        if statuses.get(rid) in (None, "cancelled"):
                            self._runner.cancel(rid)
                if rounds % sweep_every == 0:
                    await self.sweep()
            except Exception:
                log.warning("background lease round failed", exc_info=True)

    # -- create and run -------------------------------------------------------------------

    async def create(self, identity: Identity, req: ResponseCreateRequest,
                     session_id: str | None = None) -> tuple[dict[str, Any], str | None]:
        """Check the request, store the response `queued` and hand it to the runner."""
        if req.store is False:
            raise InvalidRequest("Background responses must be stored: 'background: true' "
                                 "cannot be combined with 'store: false'.", param="background")
        prepared = await self._responses.prepare_stream(identity, req, session_id)
        queued = {**prepared.snapshot, "status": "queued"}
        rid = queued["id"]
        async with self._pool.acquire() as conn:
            await repo.insert_queued(
                conn, id=rid, owner=identity.subject,
                previous_response_id=req.previous_response_id, model=req.model,
                input_items=prepared.input_items, body=queued,
                session_id=prepared.session_id, lease_s=self._lease_s,
                events=[{"type": "response.created", "sequence_number": 0, "response": queued},
                        {"type": "response.queued", "sequence_number": 1, "response": queued}])
        # The rate limiter settles this request's tokens when the run has used them.
        meter = request_meter.get()
        if meter is not None:
            meter.hold()
        self._runner.submit(rid, lambda: self._execute(prepared, meter),
                            dropped=None if meter is None else meter.release)
        return queued, prepared.session_id

    async def _execute(self, prepared: PreparedStream, meter: RequestMeter | None) -> None:
        try:
            ended = await self._run(prepared)
            if ended is not None:
                self._ended.labels(outcome=ended).inc()
        finally:
            if meter is not None:
                await asyncio.shield(meter.release())

    async def _run(self, prepared: PreparedStream) -> str | None:
        """Run it to its end; the status it ended with (None: it was not to run, or was
        deleted while it ran)."""
        rid = prepared.snapshot["id"]
        async with self._pool.acquire() as conn:
            if not await repo.start(conn, rid, prepared.snapshot, self._lease_s):
                return None  # cancelled or deleted while queued
        try:
            started = await prepared.start()
        except Exception as exc:
            log.info("background response failed to start", exc_info=True,
                     extra={"response_id": rid})
            await self._end(rid, 2, _error_of(exc))
            return "failed"
        events_log = self._log.writer(rid)
        try:
            # The run's own stream: `response.created` was sent when it was queued, so its
            # events follow `response.queued` (one place later).
            async for batch in started.events:
                events = [{**event, "sequence_number": event["sequence_number"] + 1}
                          for event in map(plain, batch) if event["type"] != "response.created"]
                if events:
                    events_log.add(events)
            await events_log.flush()
        except asyncpg.ForeignKeyViolationError:
            return None  # deleted while it ran
        finally:
            await events_log.abort()  # a run stopped early leaves no write behind it
            await started.events.aclose()
        if started.final is None:
            return None
        final = plain(started.final)
        async with self._pool.acquire() as conn:
            await repo.finish(conn, rid, final)
        return str(final["status"])

    async def _end(self, rid: str, seq: int | None, error: dict[str, str]) -> bool:
        """Fail an unfinished response with `error`, ending its log with `response.failed`
        (at `seq`, or after its last event); False if it had ended."""
        async with self._pool.acquire() as conn, conn.transaction():
            current = await repo.status_body(conn, rid)
            if current is None or current["status"] not in repo.UNFINISHED:
                return False
            body = {**current, "status": "failed", "error": error}
            if not await repo.finish(conn, rid, body):
                return False
            at = await repo.next_seq(conn, rid) if seq is None else seq
            await repo.append_events(conn, rid, [{"type": "response.failed",
                                                  "sequence_number": at, "response": body}])
        self._log.notify(rid)
        return True

    # -- follow and cancel ----------------------------------------------------------------

    async def stream(self, identity: Identity, response_id: str,
                     starting_after: int | None) -> AsyncIterator[bytes]:
        """A stored response's events after `starting_after`: a background one's from its
        log, then live until it ends; another's replayed from what was stored."""
        async with self._pool.acquire() as conn:
            found = await repo.state(conn, identity.subject, response_id)
        if found is None:
            raise _not_found(response_id)
        if not found.background:
            return await self._responses.replay(identity, response_id, starting_after)
        return self.follow(response_id, -1 if starting_after is None else starting_after)

    def follow(self, rid: str, after: int) -> AsyncIterator[bytes]:
        """The events of `rid` after `after`, then live until it ends."""
        return self._log.follow(rid, after)

    async def cancel(self, identity: Identity, response_id: str) -> dict[str, Any]:
        """Cancel a queued or running background response of the caller's; cancelling one
        already cancelled returns it again."""
        async with self._pool.acquire() as conn:
            found = await repo.state(conn, identity.subject, response_id)
            if found is None:
                raise _not_found(response_id)
            if not found.background:
                raise InvalidRequest("Cannot cancel a synchronous response; only responses "
                                     "created with background=true can be cancelled.",
                                     param="response_id")
            body = found.body if found.status == "cancelled" else (
                await repo.cancel(conn, identity.subject, response_id))
        if body is None:  # it had finished
            status = found.status if found.status not in repo.UNFINISHED else "finished"
            raise InvalidRequest(f"Cannot cancel a {status} response.", param="response_id")
        if found.status != "cancelled":
            self._ended.labels(outcome="cancelled").inc()
        self._runner.cancel(response_id)
        self._log.notify(response_id)
        return body


def _error_of(exc: Exception) -> dict[str, str]:
    if isinstance(exc, APIError):
        return {"code": exc.code or "server_error", "message": exc.message}
    return {"code": "server_error", "message": "The server had an error."}


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id",
                    code="response_not_found")
