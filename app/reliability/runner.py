"""The service's own task runner: keyed jobs that outlive the request that started them, at
most `concurrency` running at once, the rest waiting in the order given.

A job runs in the context of the code that submitted it (as `asyncio.create_task` copies it),
so a request's id and rate-limit meter follow its background work. The lifespan drains the
runner when the service stops: running jobs get a grace period, then are cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("lukhas.runner")

Job = Callable[[], Coroutine[Any, Any, None]]


class TaskRunner:
    def __init__(self, name: str, concurrency: int) -> None:
        self.name = name
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.running = 0  # jobs holding a slot; the others wait
        self._closed = False

    def submit(self, key: str, job: Job, dropped: Job | None = None) -> None:
        """Run `job` under `key` when a slot is free; `dropped` instead if it is cancelled
        before it started."""
        if self._closed:
            raise RuntimeError(f"the {self.name} runner is stopped")
        task = asyncio.get_running_loop().create_task(self._run(key, job, dropped),
                                                      name=f"{self.name}:{key}")
        self._tasks[key] = task

    async def _run(self, key: str, job: Job, dropped: Job | None) -> None:
        started = False
        try:
            async with self._slots:
                self.running += 1
                started = True
                try:
                    await job()
                finally:
                    self.running -= 1
        except asyncio.CancelledError:
            if not started and dropped is not None:
                await asyncio.shield(dropped())
            raise
        except Exception:
            log.exception("background job failed", extra={"runner": self.name, "key": key})
        finally:
            self._tasks.pop(key, None)

    @property
    def waiting(self) -> int:
        """Jobs submitted that wait for a slot."""
        return len(self._tasks) - self.running

    def keys(self) -> list[str]:
        """The keys of the jobs waiting or running."""
        return list(self._tasks)

    def cancel(self, key: str) -> bool:
        """Cancel the job under `key`; False if there is none here."""
        task = self._tasks.get(key)
        if task is None:
            return False
        task.cancel()
        return True

    async def drain(self, grace_s: float) -> list[str]:
        """Take no more jobs and wait up to `grace_s` for those submitted; the keys of the
        jobs still unfinished then (cancel them with `close`)."""
        self._closed = True
        pending = list(self._tasks.values())
        if pending:
            await asyncio.wait(pending, timeout=grace_s)
        return self.keys()

    async def close(self) -> None:
        """Cancel every job left and wait for each to end."""
        pending = list(self._tasks.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
