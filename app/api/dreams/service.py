"""Dreams: each belongs to its caller (someone else's is a 404). Creating one only queues it;
the dream runner advances it on the MATRIZ tick. Its trace is read, or followed as SSE,
from the database, so any replica serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel

from app.api.dreams.protocol import DreamConstraints, DreamCreate, DreamEvent, DreamsQuery
from app.api.listing import list_page
from app.db.repositories import dreams as repo
from app.db.repositories import memory as memory_repo
from app.dreams.journal import Dream, Journal
from app.dreams.machine import DreamStatus, is_terminal
from app.dreams.types import Constraints
from app.errors import Conflict, InvalidRequest, NotFound
from app.guardian.engine import Guardian
from app.identity.base import Identity
from app.ids import ordered_ids
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.sse import named_frames

POLL_S = 1.0  # a stream looks again at least this often (events written by another replica)


def _unknown(model: BaseModel, prefix: str = "") -> str | None:
    """The first field of the request (nested) that no model declares, as a param path."""
    for name in model.model_extra or {}:
        return prefix + name
    for name, value in model:
        if isinstance(value, BaseModel):
            found = _unknown(value, f"{prefix}{name}.")
            if found is not None:
                return found
    return None


def _seconds(value: Any) -> int | None:
    return None if value is None else int(value.timestamp())


def dream_object(row: Any, scenarios: list[Any]) -> dict[str, Any]:
    """A `dreams` row and its scenarios as the dream object."""
    code = row["reason_code"]
    summary = row["summary"] or None
    return {
        "id": row["id"], "object": "dream", "created_at": _seconds(row["created_at"]),
        "started_at": _seconds(row["started_at"]), "ended_at": _seconds(row["ended_at"]),
        "status": row["status"], "model": row["model"], "seed": row["seed"],
        "constraints": row["constraints"], "store": row["store"], "metadata": row["metadata"],
        "reason": None if code is None else {"code": code, "message": row["reason"]},
        "summary": summary,
        "scenarios": [{"id": s["id"], "text": s["text"], "cites": list(s["cites"]),
                       "verdict": s["verdict"], "novelty": s["novelty"],
                       "support": s["support"], "critique": s["critique"]}
                      for s in scenarios],
        "trace_events": row["last_seq"] + 1,
    }


def event_object(row: Any, dream_id: str, created_at: Any) -> dict[str, Any]:
    """A `dream_steps` row as a trace event."""
    elapsed = (row["at"] - created_at).total_seconds() * 1000
    return DreamEvent(type=row["type"], sequence_number=row["seq"], dream_id=dream_id,
                      status=row["status"], elapsed_ms=round(max(0.0, elapsed), 3),
                      data=row["data"]).model_dump()


class Outward:
    """A dream's texts as they leave, through the Guardian's output rules: what the service
    says in a dream (recalled memories, scenarios, the statement of a proposal) is an answer
    like any other, and a span a rule redacts or blocks is replaced by the rule's
    replacement. Advisory lanes (`enforced` False) pass it unchanged. The stored dream keeps
    the texts as they were: its later phases and the memory guard judge what it really
    holds."""

    def __init__(self, guardian: Guardian, enforced: bool) -> None:
        self._guardian = guardian
        self._enforced = enforced

    def text(self, text: str) -> str:
        if not self._enforced or not text:
            return text
        decision = self._guardian.scan_fast(text, direction="output")
        return decision.redact(text)[0] if decision.reasons else text

    def dream(self, obj: dict[str, Any]) -> dict[str, Any]:
        for scenario in obj["scenarios"]:
            scenario["text"] = self.text(scenario["text"])
        return obj

    def event(self, obj: dict[str, Any]) -> dict[str, Any]:
        data = obj.get("data") or {}
        for memory in data.get("memories") or []:
            memory["text"] = self.text(memory["text"])
        if isinstance(data.get("scenario"), dict):
            data["scenario"]["text"] = self.text(data["scenario"]["text"])
        if isinstance(data.get("proposal"), dict):
            data["proposal"]["statement"] = self.text(data["proposal"]["statement"])
        return obj


class DreamsService:
    def __init__(self, pool: Any, registry: ProviderRegistry, journal: Journal,
                 wake: Any, outward: Outward) -> None:
        self._pool = pool
        self._registry = registry
        self._journal = journal
        self._wake = wake  # the runner's `wake()`
        self._out = outward

    async def create(self, identity: Identity, req: DreamCreate) -> dict[str, Any]:
        """Check the request, store the dream queued, wake the runner."""
        unknown = _unknown(req)
        if unknown is not None:
            raise InvalidRequest(f"Unknown parameter: '{unknown}'.", param=unknown,
                                 code="unknown_parameter")
        if not req.seed.strip():
            raise InvalidRequest("'seed' must not be empty.", param="seed", code="empty_input")
        if not req.store and not req.stream:
            raise InvalidRequest("A dream with 'store': false is only seen through its "
                                 "stream: set 'stream': true.", param="store")
        dream_id = ordered_ids("dream_", 1)[0]
        _, provider = self._registry.resolve(req.model)
        if isinstance(provider, UpstreamProvider):
            provider.begin(identity, req.model, dream_id)  # 404 for a group the tier lacks
        constraints = await self._constraints(identity, req.constraints)
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.create(
                conn, id=dream_id, owner=identity.subject, tier=identity.tier,
                model=req.model, seed=req.seed, constraints=constraints.to_json(),
                metadata=req.metadata or {}, store=req.store,
                may_write=identity.has_scope("memory.write"))
            await repo.append(conn, dream_id, 0, [("dream.queued", "queued", {
                "from": None, "to": "queued"})])
        self._wake()
        return dream_object(row, [])

    async def _constraints(self, identity: Identity, c: DreamConstraints) -> Constraints:
        where = "constraints.sources"
        if not c.sources.memory and not c.sources.indexes:
            raise InvalidRequest("A dream needs a source: 'memory' or at least one index.",
                                 param=where)
        if len(set(c.sources.indexes)) < len(c.sources.indexes):
            raise InvalidRequest("An index is named twice.", param=f"{where}.indexes")
        include = {t.lower() for t in c.must_include}
        both = [t for t in c.must_exclude if t.lower() in include]
        if both:
            raise InvalidRequest(f"'{both[0]}' is both required and excluded.",
                                 param="constraints.must_exclude")
        async with self._pool.acquire() as conn:
            for i, index_id in enumerate(c.sources.indexes):
                if await memory_repo.get_index(conn, identity.subject, index_id) is None:
                    raise NotFound(f"No index with id '{index_id}'.",
                                   param=f"{where}.indexes[{i}]", code="index_not_found")
        return Constraints(c.max_steps, c.max_scenarios, c.time_budget_seconds,
                           c.sources.memory, tuple(c.sources.indexes), tuple(c.must_include),
                           tuple(c.must_exclude), None if c.lanes is None else tuple(c.lanes))

    async def _row(self, conn: Any, identity: Identity, dream_id: str) -> Any:
        row = await repo.get(conn, identity.subject, dream_id)
        if row is None:
            raise NotFound(f"No dream with id '{dream_id}'.", param="dream_id",
                           code="dream_not_found")
        return row

    async def get(self, identity: Identity, dream_id: str) -> dict[str, Any]:
        """One of the caller's dreams, with its scenarios."""
        async with self._pool.acquire() as conn:
            row = await self._row(conn, identity, dream_id)
            return self._out.dream(dream_object(row, await repo.scenarios(conn, dream_id)))

    async def list(self, identity: Identity, q: DreamsQuery) -> dict[str, Any]:
        """The caller's dreams, OpenAI list conventions."""
        async with self._pool.acquire() as conn:
            rows, more = await repo.page(conn, identity.subject, limit=q.limit, after=q.after,
                                         before=q.before, descending=q.order == "desc")
            scenarios = await repo.scenarios_of(conn, [r["id"] for r in rows])
        data = [self._out.dream(dream_object(r, scenarios.get(r["id"], []))) for r in rows]
        return list_page(data, more)

    async def cancel(self, identity: Identity, dream_id: str) -> dict[str, Any]:
        """Cancel a dream that has not ended (a cancelled one is returned as it is)."""
        for _ in range(8):  # the runner may move it meanwhile: try again from its new state
            async with self._pool.acquire() as conn:
                row = await self._row(conn, identity, dream_id)
            status = DreamStatus(row["status"])
            if status is DreamStatus.CANCELLED:
                break
            if is_terminal(status):
                raise Conflict(f"The dream has already ended ({status.value}).",
                               param="dream_id", code="dream_ended")
            if await self._journal.end(Dream.from_row(row), DreamStatus.CANCELLED,
                                       "cancelled", "Cancelled at the caller's request."):
                break
        return await self.get(identity, dream_id)

    async def delete(self, identity: Identity, dream_id: str) -> dict[str, Any]:
        """Delete a dream, its trace and its scenarios (a running one stops)."""
        async with self._pool.acquire() as conn:
            if not await repo.delete(conn, identity.subject, dream_id):
                raise NotFound(f"No dream with id '{dream_id}'.", param="dream_id",
                               code="dream_not_found")
        self._journal.signals.notify(dream_id)
        return {"id": dream_id, "object": "dream.deleted", "deleted": True}

    async def open_stream(self, identity: Identity, dream_id: str,
                          starting_after: int | None) -> AsyncIterator[bytes]:
        """The dream's trace from after `starting_after`, as it is written, to its end (404
        before the stream starts for a dream that is not the caller's)."""
        async with self._pool.acquire() as conn:
            row = await self._row(conn, identity, dream_id)
        return self._frames(identity, row, -1 if starting_after is None else starting_after)

    async def _frames(self, identity: Identity, row: Any, last: int) -> AsyncIterator[bytes]:
        dream_id, created_at = row["id"], row["created_at"]
        while True:
            async with self._pool.acquire() as conn:
                row = await repo.get(conn, identity.subject, dream_id)
                steps = [] if row is None else await repo.steps(conn, dream_id, last)
            if row is None:
                yield named_frames([{"type": "error", "sequence_number": last + 1, "error": {
                    "message": f"The dream '{dream_id}' was deleted.",
                    "type": "invalid_request_error", "param": None,
                    "code": "dream_not_found"}}])
                return
            if steps:
                yield named_frames([self._out.event(event_object(s, dream_id, created_at))
                                    for s in steps])
                last = steps[-1]["seq"]
            if is_terminal(DreamStatus(row["status"])) and last >= row["last_seq"]:
                if not row["store"]:
                    async with self._pool.acquire() as conn:
                        await repo.delete(conn, identity.subject, dream_id)
                return
            if not steps:
                await self._journal.signals.wait(dream_id, POLL_S)
