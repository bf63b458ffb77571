"""The dream runner: a MATRIZ tick engine that advances dreams, never inside a request.

A request only inserts a queued dream and wakes the runner. On the next tick (or every
`poll_ticks` ticks, for dreams queued by another replica or left by a dead one) the tick
starts a worker, up to `workers` at once, that claims the oldest open dream nobody holds and
takes it through its phases. Each phase's output and the move to the next state are written
in one transaction, so a dream interrupted anywhere resumes at the start of the phase it was
in, reading what the earlier phases found back from its trace. The claim is a lease renewed
while the worker runs; a dream whose lease lapsed (its process died) is claimed again, and
after `MAX_ATTEMPTS` claims it is failed rather than retried for ever. A worker stopping
with the service gives its dream back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from opentelemetry.trace import Tracer

from app.db.repositories import dreams as repo
from app.dreams import imagine
from app.dreams.journal import Dream, Journal
from app.dreams.machine import DreamStatus, is_terminal, next_phase
from app.dreams.recall import Recall
from app.dreams.types import Critique, Link, Material, Recalled, Scenario, to_json
from app.dreams.upstream import write_scenarios
from app.embeddings.base import Vectors
from app.guardian.memory_guard import MemoryChange, MemoryGuard
from app.matriz.breakthrough import BreakthroughDetector
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.tick import CognitiveEvent
from app.observability.metrics import Metrics

log = logging.getLogger("lukhas.dreams")
S = DreamStatus
MAX_ATTEMPTS = 3
Events = list[tuple[str, dict[str, Any]]]


class DreamRunner:
    def __init__(self, pool: Any, journal: Journal, recall: Recall, registry: ProviderRegistry,
                 guard: MemoryGuard, metrics: Metrics, *, lease_s: float = 30.0,
                 workers: int = 2, poll_ticks: int = 30,
                 breakthroughs: BreakthroughDetector | None = None,
                 embed: Callable[[list[str]], Awaitable[Vectors]] | None = None,
                 tracer: Tracer | None = None) -> None:
        self._breakthroughs = breakthroughs
        self._embed = embed
        self._tracer = tracer
        self._pool = pool
        self._journal = journal
        self._recall = recall
        self._registry = registry
        self._guard = guard
        self._metrics = metrics
        self._lease_s = lease_s
        self._workers = workers
        self._poll_ticks = max(1, poll_ticks)
        self._count = 0
        self._woken = True  # look once at start: dreams left by the last run
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: set[str] = set()
        self._closed = False

    def wake(self) -> None:
        """A dream was queued: start a worker on the next tick."""
        self._woken = True

    def __call__(self, _: Sequence[CognitiveEvent]) -> None:
        """Tick engine: start a worker when woken or due, if one is free."""
        self._count += 1
        due = self._woken or self._count % self._poll_ticks == 0
        if self._closed or not due or len(self._tasks) >= self._workers:
            return
        self._woken = False
        task = asyncio.get_running_loop().create_task(self._work(), name="dream-worker")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop the workers and give their dreams back (resumed by the next run at once)."""
        self._closed = True
        held = list(self._held)  # the workers forget their dreams as they stop
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if held:
            async with self._pool.acquire() as conn:
                await conn.execute("UPDATE dreams SET claimed_until = NULL, attempts ="
                                   " greatest(attempts - 1, 0) WHERE id = ANY($1)", held)

    async def _work(self) -> None:
        try:
            while True:
                async with self._pool.acquire() as conn:
                    row = await repo.claim(conn, self._lease_s)
                    swept = await repo.delete_unstored(conn, 600.0)
                if swept:
                    log.info("unstored dreams removed", extra={"dreams": swept})
                if row is None:
                    return
                await self.run(Dream.from_row(row))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dream worker failed")

    async def run(self, dream: Dream) -> None:
        """Take a claimed dream from its state to an end (or until it is cancelled)."""
        self._held.add(dream.id)
        span = (self._tracer.start_span("consciousness.dream", attributes={
            "lukhas.dream": dream.id, "lukhas.attempt": dream.attempts,
            "lukhas.from": dream.status.value}) if self._tracer is not None else None)
        worker = asyncio.current_task()
        holder = asyncio.get_running_loop().create_task(self._hold(dream.id, worker))
        try:
            if dream.attempts > MAX_ATTEMPTS:
                await self._journal.end(dream, S.FAILED, "interrupted", (
                    f"The dream was interrupted {dream.attempts - 1} times (the service "
                    "stopped while it ran); it is not tried again."))
                return
            await self._advance(dream)
        except asyncio.CancelledError:
            if holder.done() and holder.result():  # ended or deleted under us: not ours
                if worker is not None:
                    worker.uncancel()  # the worker goes on to its next dream
                return
            raise
        except TimeoutError:
            await self._journal.end(dream, S.INCOMPLETE, "time_budget", _budget_message(dream))
        except Exception as exc:
            log.exception("dream failed", extra={"dream": dream.id})
            message = getattr(exc, "message", None) or "The dream failed on a server error."
            await self._journal.end(dream, S.FAILED, "error", message)
        finally:
            holder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await holder
            self._held.discard(dream.id)
            if span is not None:
                span.set_attribute("lukhas.status", dream.status.value)
                span.end()

    async def _hold(self, dream_id: str, worker: asyncio.Task[Any] | None) -> bool:
        """Renew the claim; when the dream ended elsewhere (cancelled, deleted), stop the
        worker and return True."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            async with self._pool.acquire() as conn:
                held = await repo.renew(conn, dream_id, self._lease_s)
            if not held:
                if worker is not None:
                    worker.cancel()
                return True

    async def _advance(self, dream: Dream) -> None:
        material = await self._material(dream)
        while not is_terminal(dream.status):
            if dream.status is S.QUEUED:
                waited = time.time() - dream.created_at.timestamp()
                started = datetime.now().astimezone()
                if not await self._journal.write(dream, [], S.GATHERING,
                                                 phase_s=max(0.0, waited), started_at=started):
                    return
                dream.started_at = started
                continue
            remaining = _remaining(dream)
            if remaining <= 0:
                await self._journal.end(dream, S.INCOMPLETE, "time_budget",
                                        _budget_message(dream))
                return
            phase = dream.status
            began = time.perf_counter()
            async with asyncio.timeout(remaining):
                events, effect = await self._phase(dream, material)
            target = next_phase(phase)
            room = dream.constraints.max_steps - (dream.last_seq + 1)
            needed = len(events) + 1 + (0 if target is S.COMPLETED else 1)
            if needed > room:
                await self._journal.end(dream, S.INCOMPLETE, "max_steps", (
                    f"The dream stopped while {phase.value}: finishing that phase takes "
                    f"{needed} more trace events, and its max_steps "
                    f"({dream.constraints.max_steps}) leaves {room}."))
                return
            spent = time.perf_counter() - began
            self._metrics.dream_phase_seconds.labels(stage=phase.value).observe(spent)
            fields: dict[str, Any] = {}
            moved: dict[str, Any] = {}
            if target is S.COMPLETED:
                summary = _summary(material)
                fields, moved = {"summary": summary}, {"reason": None, "summary": summary}
            if not await self._journal.write(dream, events, target, phase_s=spent,
                                             moved=moved, effect=effect, **fields):
                return

    async def _material(self, dream: Dream) -> Material:
        """What the finished phases found, read back from the trace (a resumed dream)."""
        material = Material()
        if dream.status in (S.QUEUED, S.GATHERING):
            return material
        async with self._pool.acquire() as conn:
            rows = await repo.steps_of(conn, dream.id, ["dream.memories", "dream.links",
                                                        "dream.scenario", "dream.critique",
                                                        "dream.breakthrough"])
        for row in rows:
            data = row["data"]
            if row["type"] == "dream.memories":
                material.memories = [Recalled(**m) for m in data["memories"]]
                material.notes = list(data["notes"])
            elif row["type"] == "dream.links":
                material.links = [Link(**link) for link in data["links"]]
            elif row["type"] == "dream.scenario":
                material.scenarios.append(Scenario(**data["scenario"]))
            elif row["type"] == "dream.breakthrough":
                material.breakthroughs.append(data["breakthrough"]["scenario"])
            else:
                material.critiques.append(Critique(**data["critique"]))
        return material

    async def _phase(self, dream: Dream, m: Material) -> tuple[Events, Any]:
        """Do the work of the dream's current phase; its events and its database effect."""
        c = dream.constraints
        if dream.status is S.GATHERING:
            m.memories, m.notes = await self._recall(dream.owner, dream.seed, c)
            if not m.memories:
                m.notes.append("No memories were found in the sources this dream was given: "
                               "there was nothing to recombine, so it dreams nothing.")
            return [("dream.memories", {"memories": [to_json(r) for r in m.memories],
                                        "notes": m.notes})], None
        if dream.status is S.ASSOCIATING:
            async with self._pool.acquire() as conn:
                vectors = await repo.vectors(conn, dream.owner, [r.id for r in m.memories])
            m.links = imagine.associate(m.memories, vectors)
            return [("dream.links", {"links": [to_json(link) for link in m.links]})], None
        if dream.status is S.GENERATING:
            m.scenarios = await self._generate(dream, m)
            made = [(s.id, s.text, s.cites) for s in m.scenarios]

            async def store_scenarios(conn: Any) -> None:
                await repo.add_scenarios(conn, dream.id, made)

            return [("dream.scenario", {"scenario": to_json(s)}) for s in m.scenarios], \
                store_scenarios
        if dream.status is S.CRITIQUING:
            m.critiques = [imagine.critique(s, m.memories, c) for s in m.scenarios]
            judged = [(k.scenario, k.verdict, k.novelty, k.support, to_json(k))
                      for k in m.critiques]

            async def judge(conn: Any) -> None:
                await repo.judge_scenarios(conn, dream.id, judged)

            events: Events = [("dream.critique", {"critique": to_json(k)})
                              for k in m.critiques]
            return [*events, *await self._flag(dream, m)], judge
        return await self._consolidate(dream, m)

    async def _flag(self, dream: Dream, m: Material) -> Events:
        """The scenarios the breakthrough detector flags (new for their caller and of value:
        support, when accepted), each a `dream.breakthrough` event. The one part of a dream
        that depends on more than its memories and seed: the caller's recent answers and the
        lane's running statistics."""
        if self._breakthroughs is None or self._embed is None or not m.scenarios:
            return []
        vectors = await self._embed([s.text for s in m.scenarios])
        events: Events = []
        for scenario, critique, vector in zip(m.scenarios, m.critiques, vectors, strict=True):
            value = critique.support if critique.verdict == "accepted" else 0.0
            flag = self._breakthroughs.observe(dream.owner, np.asarray(vector, np.float32),
                                               value, source="scenario", ref=dream.id)
            if flag is not None:
                m.breakthroughs.append(scenario.id)
                events.append(("dream.breakthrough", {"breakthrough": {
                    "scenario": scenario.id, "z": round(flag.z, 3),
                    "novelty": round(flag.novelty, 4), "value": value}}))
        return events

    async def _generate(self, dream: Dream, m: Material) -> list[Scenario]:
        _, provider = self._registry.resolve(dream.model)
        if isinstance(provider, UpstreamProvider):
            if not m.memories:
                return []  # nothing to give the model: it would only make things up
            return await write_scenarios(provider, dream.owner, dream.tier, dream.model,
                                         dream.id, dream.seed, m.memories, dream.constraints)
        return imagine.scenarios(dream.id, dream.seed, m.memories, m.links, dream.constraints)

    async def _consolidate(self, dream: Dream, m: Material) -> tuple[Events, Any]:
        """Each proposal reviewed by the Guardian; the allowed ones applied, in the same
        transaction as the move to `completed`, when the dream's creator may write memory."""
        applied: list[tuple[str, list[str]]] = []
        events: Events = []
        m.outcomes = []
        for p in imagine.proposals(dream.id, m.scenarios, m.critiques, m.memories):
            texts = [r.text for r in m.memories if r.id in p.members]
            verdict = await self._guard.review(MemoryChange(
                dream.owner, "fold", p.members, texts, f"dream:{dream.id}"))
            if not verdict.allowed:
                outcome, reason = "refused", verdict.reason
            elif not dream.may_write:
                outcome, reason = "proposed", ("The credential that created the dream may "
                                               "not write memory (memory.write).")
            else:
                outcome, reason = "applied", None
                applied.append((p.fold, p.members))
            self._metrics.dream_proposals.labels(outcome=outcome).inc()
            m.outcomes.append(outcome)
            events.append(("dream.proposal", {"proposal": {
                **to_json(p), "outcome": outcome, "reason": reason}}))

        async def fold(conn: Any) -> None:
            for fold_id, members in applied:
                await repo.fold(conn, dream.owner, fold_id, members)

        return events, fold if applied else None


def _remaining(dream: Dream) -> float:
    if dream.started_at is None:
        return dream.constraints.time_budget_seconds
    spent = time.time() - dream.started_at.timestamp()
    return dream.constraints.time_budget_seconds - spent


def _budget_message(dream: Dream) -> str:
    return (f"The dream ran out of its time budget ({dream.constraints.time_budget_seconds:g} "
            f"s) while {dream.status.value}.")


def _summary(m: Material) -> dict[str, Any]:
    accepted = sum(k.verdict == "accepted" for k in m.critiques)
    return {"memories": len(m.memories), "links": len(m.links),
            "scenarios": len(m.scenarios), "accepted": accepted,
            "rejected": len(m.critiques) - accepted, "proposals": len(m.outcomes),
            "applied": m.outcomes.count("applied"), "breakthroughs": len(m.breakthroughs),
            "notes": m.notes}
