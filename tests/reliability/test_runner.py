"""The task runner: at most `concurrency` jobs at once, the rest in order; cancelling a job
that waits runs its `dropped`; a drain waits, then `close` cancels what is left."""

from __future__ import annotations

import asyncio

from app.reliability.runner import Job, TaskRunner


async def test_jobs_run_at_most_concurrency_at_once_in_order() -> None:
    runner = TaskRunner("test", concurrency=2)
    gates = {key: asyncio.Event() for key in "abcd"}
    order: list[str] = []

    def job(key: str) -> Job:
        async def run() -> None:
            order.append(key)
            await gates[key].wait()
        return run

    for key in "abcd":
        runner.submit(key, job(key))
    await asyncio.sleep(0.01)
    assert order == ["a", "b"] and runner.running == 2 and runner.waiting == 2
    gates["a"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b", "c"]
    for gate in gates.values():
        gate.set()
    assert await runner.drain(1.0) == []
    assert order == ["a", "b", "c", "d"] and runner.keys() == []


async def test_a_job_cancelled_while_waiting_is_dropped_and_a_running_one_cancelled() -> None:
    runner = TaskRunner("test", concurrency=1)
    blocked = asyncio.Event()
    events: list[str] = []

    async def first() -> None:
        try:
            await blocked.wait()
        except asyncio.CancelledError:
            events.append("first cancelled")
            raise

    async def second() -> None:
        events.append("second ran")

    async def second_dropped() -> None:
        events.append("second dropped")

    runner.submit("first", first)
    runner.submit("second", second, dropped=second_dropped)
    await asyncio.sleep(0.01)
    assert runner.cancel("second") and not runner.cancel("missing")
    await asyncio.sleep(0.01)
    assert events == ["second dropped"] and runner.keys() == ["first"]
    assert await runner.drain(0.05) == ["first"], "a drain does not cancel"
    await runner.close()
    assert events == ["second dropped", "first cancelled"] and runner.keys() == []


async def test_a_failing_job_is_logged_and_frees_its_slot() -> None:
    runner = TaskRunner("test", concurrency=1)
    ran: list[str] = []

    async def broken() -> None:
        raise ValueError("boom")

    async def after() -> None:
        ran.append("after")

    runner.submit("broken", broken)
    runner.submit("after", after)
    assert await runner.drain(1.0) == []
    assert ran == ["after"]
