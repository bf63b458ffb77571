"""Micro-batching: concurrent embedding requests share one model call.

A request's texts join a queue; one loop takes the first waiting request, then more (see
`_gather`) until `max_batch` texts or `max_wait`, runs the model once in its own worker
thread (never on the event loop, never two calls at once), and hands each request its rows.
A request larger than `max_batch` is split into model calls of `max_batch`. Always the same
thread: the model's math library keeps a team of threads per calling thread, and two teams
on the same two cores slowed each other by a quarter.

An embedder that is not `batched` (it costs microseconds a text) skips the queue: small
inputs run at once on the event loop, larger ones in a worker thread.

An `isolated` embedder runs in a worker process instead of the worker thread, one process
per model for the whole service process (its apps share it), started on first use. Its
forward pass is hundreds of numpy calls, each giving the interpreter's lock back and taking
it again: from a thread, every retake waited on the event loop's thread and interrupted it
(measured under load: one Guardian review's embedding took 1.2 s of wall time, and the
loop lost ~20% of its throughput while it ran). The worker's CPU time is counted
(`MicroBatcher.cpu_seconds`), since this process's own clock no longer sees it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from app.embeddings.base import Embedder, Vectors
from app.observability.metrics import Metrics

# Text an unbatched embedder handles on the event loop: ~0.1 ms of hashing, 1 ms at worst
# (every word new); 8 KB of new words would hold the loop for 15 ms.
INLINE_CHARS = 512


_ORPHAN_CHECK_S = 1.0  # how often a worker checks that its service is still alive
_WORKERS: dict[str, ProcessPoolExecutor] = {}  # an isolated model's process, by model id
_WORKERS_LOCK = threading.Lock()


def _worker(embedder: Embedder) -> ProcessPoolExecutor:
    """The worker process of an isolated model (spawned: this process has threads)."""
    with _WORKERS_LOCK:
        pool = _WORKERS.get(embedder.id)
        if pool is None:
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_worker_started, initargs=(os.getpid(),))
            _WORKERS[embedder.id] = pool
        return pool


def _worker_started(parent: int) -> None:
    """In the worker process, first: a Ctrl-C in the terminal reaches the worker too (the
    service stops it, not the key); and a worker whose service died without stopping it (a
    SIGKILL, an OOM kill) ends within a second instead of living on, orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_ORPHAN_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _drop_worker(model: str, pool: ProcessPoolExecutor) -> None:
    """Forget a worker that died: the next call starts another."""
    with _WORKERS_LOCK:
        if _WORKERS.get(model) is pool:
            del _WORKERS[model]
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _stop_workers() -> None:
    with _WORKERS_LOCK:
        for pool in _WORKERS.values():
            pool.shutdown(wait=False, cancel_futures=True)
        _WORKERS.clear()


def _embed_timed(embedder: Embedder, texts: list[str]) -> tuple[Vectors, float]:
    """In the worker process: the rows, and the CPU time they took there."""
    started = time.process_time()
    rows = embedder.embed(texts)
    return rows, time.process_time() - started


@dataclass(slots=True)
class _Job:
    texts: list[str]
    done: asyncio.Future[Vectors] = field(default_factory=asyncio.Future)
    queued_at: float = field(default_factory=time.perf_counter)


class MicroBatcher:
    def __init__(self, embedder: Embedder, metrics: Metrics, *, max_batch: int = 32,
                 max_wait_s: float = 0.005) -> None:
        self.embedder = embedder
        self._max_batch = max_batch
        self._max_wait = max_wait_s
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"embed-{embedder.id}")
        self.cpu_seconds = 0.0  # the worker process's CPU time for this batcher's calls
        # The most requests inside `embed` at once, this second and the one before: under a
        # steady load, the callers to expect in each batch.
        self._inside = 0
        self._peak = self._peak_before = 0
        self._second = 0
        self._batch_size = metrics.embeddings_batch_size.labels(model=embedder.id)
        self._seconds = metrics.embeddings_seconds.labels(model=embedder.id)
        self._wait = metrics.embeddings_wait_seconds.labels(model=embedder.id)

    async def embed(self, texts: list[str]) -> Vectors:
        """The rows for `texts`, in order."""
        if not self.embedder.batched:
            self._wait.observe(0.0)
            if sum(map(len, texts)) <= INLINE_CHARS:
                return self._run(texts)
            return await asyncio.to_thread(self._run, texts)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=f"embed-{self.embedder.id}")
        job = _Job(texts)
        self._enter()
        try:
            await self._queue.put(job)
            return await job.done
        finally:
            self._inside -= 1

    def _enter(self) -> None:
        self._inside += 1
        second = int(time.monotonic())
        if second != self._second:
            self._peak_before = self._peak if second == self._second + 1 else 0
            self._peak, self._second = 0, second
        self._peak = max(self._peak, self._inside)

    async def close(self) -> None:
        """Stop the loop; requests still queued fail."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            self._queue.get_nowait().done.cancel()
        self._thread.shutdown(wait=False)

    async def _gather(self) -> list[_Job]:
        """The next batch: the first waiting request and whatever is queued behind it, then
        stragglers for at most `max_wait`, but only while fewer requests are in it than
        were recently inside `embed` at once. Under a steady load those are the callers the
        last call answered: once they are all back there is nobody left to wait for, and a
        lone caller never waits. Waiting for all of them, not only for as many as the last
        batch had, keeps two halves of the callers from settling into taking turns with
        half-size batches, each model call then competing with the other half's requests."""
        jobs = [await self._queue.get()]
        size = len(jobs[0].texts)
        while size < self._max_batch and not self._queue.empty():
            job = self._queue.get_nowait()
            jobs.append(job)
            size += len(job.texts)
        deadline = time.monotonic() + self._max_wait
        while size < self._max_batch and len(jobs) < max(self._peak, self._peak_before):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                job = await asyncio.wait_for(self._queue.get(), remaining)
            except TimeoutError:
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _loop(self) -> None:
        while True:
            jobs = await self._gather()
            texts = [t for job in jobs for t in job.texts]
            now = time.perf_counter()
            for job in jobs:
                self._wait.observe(now - job.queued_at)
            try:
                rows = await self._call(texts)
            except asyncio.CancelledError:  # closed while the model ran: nobody waits forever
                for job in jobs:
                    job.done.cancel()
                raise
            except Exception as exc:
                for job in jobs:
                    if not job.done.done():
                        job.done.set_exception(exc)
                continue
            start = 0
            for job in jobs:
                end = start + len(job.texts)
                if not job.done.done():
                    job.done.set_result(rows[start:end])
                start = end

    async def _call(self, texts: list[str]) -> Vectors:
        """The model run on `texts`, `max_batch` at a time, in its worker thread or, for an
        isolated model, its worker process."""
        loop = asyncio.get_running_loop()
        isolated = self.embedder.isolated
        parts = []
        for i in range(0, len(texts), self._max_batch):
            chunk = texts[i : i + self._max_batch]
            started = time.perf_counter()
            if not isolated:
                rows = await loop.run_in_executor(self._thread, self.embedder.embed, chunk)
            else:
                pool = _worker(self.embedder)
                try:
                    rows, cpu = await loop.run_in_executor(pool, _embed_timed, self.embedder,
                                                           chunk)
                except BrokenProcessPool:
                    _drop_worker(self.embedder.id, pool)
                    raise RuntimeError(
                        f"the worker process of {self.embedder.id} stopped") from None
                self.cpu_seconds += cpu
            self._seconds.observe(time.perf_counter() - started)
            self._batch_size.observe(len(chunk))
            parts.append(rows)
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dimensions),
                                                            dtype=np.float32)

    def _run(self, texts: list[str]) -> Vectors:
        """An embedder that is not batched, on the calling thread."""
        started = time.perf_counter()
        rows = self.embedder.embed(texts)
        self._seconds.observe(time.perf_counter() - started)
        self._batch_size.observe(len(texts))
        return rows
