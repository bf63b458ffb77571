"""The embedders and the micro-batcher."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from app.embeddings.base import Vectors, shorten
from app.embeddings.batcher import MicroBatcher
from app.embeddings.hashing import HashingEmbedder
from app.embeddings.minilm import MiniLMEmbedder
from app.observability.metrics import Metrics


def test_hashing_is_deterministic_normalised_and_meaningful() -> None:
    emb = HashingEmbedder(256)
    a, b, c = emb.embed(["the cat sat on the mat", "a cat sat on a mat", "quantum field theory"])
    assert np.allclose(emb.embed(["the cat sat on the mat"])[0], a)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    assert float(a @ b) > float(a @ c) + 0.3
    assert emb.embed(["!!!"])[0].any() == np.False_, "no word: the zero vector"
    assert emb.detokenize([1, 2]) == "t1 t2"


def test_hashing_is_pinned_across_processes_and_releases() -> None:
    """Stored vectors stay comparable with new ones only if the function never drifts."""
    emb = HashingEmbedder(16)
    for _ in range(2):  # the second time from the per-word cache
        v = emb.embed(["Hello hello world"])[0]
        assert v.round(4).tolist() == pytest.approx(
            [0, 0, 0, 0, 0.8616, 0.1231, 0.2462, 0.2462, 0.1231, -0.1231, 0.1231, 0.1231, 0,
             -0.2462, 0, 0], abs=1e-4)


def test_hashing_a_batch_gives_each_text_what_it_gives_alone() -> None:
    """The texts of one call are summed and normalised together: bit for bit, each row is
    the text's own vector, empty texts (the zero vector) and repeated ones included."""
    texts = ["the cat sat on the mat", "", "!!!", "Größe über alles, 北京 2+2", "the cat sat",
             "the cat sat on the mat", " ".join(["word"] * 300)]
    batch = HashingEmbedder(64).embed(texts)
    alone = HashingEmbedder(64)  # a cache of its own
    for text, row in zip(texts, batch, strict=True):
        own = alone.embed([text])[0]
        assert row.dtype == own.dtype == np.float32
        assert row.tobytes() == own.tobytes(), text
    assert not batch[1].any() and not batch[2].any()


async def test_a_cheap_embedder_skips_the_queue() -> None:
    class Traced(HashingEmbedder):
        def embed(self, texts: Sequence[str]) -> Vectors:
            threads.append(threading.get_ident())
            return super().embed(texts)

    threads: list[int] = []
    registry = CollectorRegistry()
    batcher = MicroBatcher(Traced(32), Metrics(registry), max_batch=8, max_wait_s=1.0)
    started = time.perf_counter()
    small = await batcher.embed(["What is 2+2?"])
    assert time.perf_counter() - started < 0.5, "no wait for other requests"
    large = await batcher.embed(["word " * 2000] * 3)
    assert small.shape == (1, 32) and large.shape == (3, 32)
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread, "a short text is hashed at once, on the loop"
    assert threads[1] != loop_thread, "a long one in a thread: it would hold the loop"
    assert registry.get_sample_value("lukhas_embeddings_batch_size_count",
                                     {"model": "lukhas-hash-v1"}) == 2
    await batcher.close()


def test_shorten_renormalises() -> None:
    vectors = HashingEmbedder(64).embed(["some text", "other text"])
    short = shorten(vectors, 16)
    assert short.shape == (2, 16)
    assert np.allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)


def test_minilm_loads_offline_from_the_package() -> None:
    emb = MiniLMEmbedder()
    v = emb.embed(["A man is eating food.", "A man eats a meal.", "The stock market fell."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert float(v[0] @ v[1]) > 0.6 > float(v[0] @ v[2])
    assert emb.detokenize([7592, 2088]) == "hello world"
    with pytest.raises(ValueError, match="token ids"):
        emb.detokenize([10**7])


class Slow:
    id = "slow"
    dimensions = 4
    shortens = False
    batched = True
    isolated = False  # in the batcher's thread, where the test sees its calls

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.threads: set[int] = set()

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls.append(len(texts))
        self.threads.add(threading.get_ident())
        time.sleep(0.02)
        return np.array([[len(t), 0, 0, 0] for t in texts], dtype=np.float32)

    def detokenize(self, ids: Sequence[int]) -> str:
        return ""


async def test_concurrent_requests_share_model_calls_in_order() -> None:
    model = Slow()
    registry = CollectorRegistry()
    batcher = MicroBatcher(model, Metrics(registry), max_batch=8, max_wait_s=0.01)
    texts = [["a" * (i + 1)] for i in range(16)]
    results = await asyncio.gather(*(batcher.embed(t) for t in texts))
    assert [int(r[0][0]) for r in results] == list(range(1, 17)), "each gets its own rows"
    assert len(model.calls) < 16 and max(model.calls) == 8
    assert threading.get_ident() not in model.threads, "the model runs off the event loop"
    big = await batcher.embed(["x"] * 20)
    assert len(big) == 20 and model.calls[-3:] == [8, 8, 4]
    count = registry.get_sample_value("lukhas_embeddings_batch_size_count", {"model": "slow"})
    assert count == len(model.calls)
    waits = registry.get_sample_value("lukhas_embeddings_wait_seconds_count", {"model": "slow"})
    assert waits == 17, "one wait per request"
    await batcher.close()


async def test_a_failing_model_fails_its_requests_not_the_loop() -> None:
    class Broken(Slow):
        def embed(self, texts: Sequence[str]) -> Vectors:
            if "boom" in texts:
                raise RuntimeError("model failed")
            return super().embed(texts)

    batcher = MicroBatcher(Broken(), Metrics(CollectorRegistry()), max_batch=4, max_wait_s=0)
    with pytest.raises(RuntimeError, match="model failed"):
        await batcher.embed(["boom"])
    assert len(await batcher.embed(["fine"])) == 1
    await batcher.close()


async def test_a_lone_caller_never_waits_for_company() -> None:
    batcher = MicroBatcher(Slow(), Metrics(CollectorRegistry()), max_batch=32, max_wait_s=1.0)
    started = time.perf_counter()
    for _ in range(3):
        await batcher.embed(["alone"])
    assert time.perf_counter() - started < 0.5, "nobody else is inside: no 1 s wait"
    await batcher.close()


async def test_steady_callers_are_batched_together_not_in_turns() -> None:
    """16 callers, each sending its next request once the last is answered (and after some
    request handling of its own): the batches gather all of them."""
    model = Slow()
    batcher = MicroBatcher(model, Metrics(CollectorRegistry()), max_batch=32, max_wait_s=0.05)

    async def caller(i: int) -> None:
        for _ in range(8):
            await asyncio.sleep(0.001 * (i % 4))  # answering and asking again take a while
            await batcher.embed([f"caller {i}"])

    await asyncio.gather(*(caller(i) for i in range(16)))
    steady = model.calls[2:]  # after the first calls have seen how many callers there are
    assert sum(steady) / len(steady) >= 14, model.calls
    await batcher.close()


async def test_an_isolated_model_runs_in_its_worker_process_and_outlives_its_death() -> None:
    import os
    import signal

    from app.embeddings import batcher as batching

    model = MiniLMEmbedder()
    batcher = MicroBatcher(model, Metrics(CollectorRegistry()), max_batch=8, max_wait_s=0)
    texts = ["A man is eating food.", "A man eats a meal."]
    rows = await batcher.embed(texts)
    assert np.allclose(rows, model.embed(texts), atol=1e-6)
    assert batcher.cpu_seconds > 0, "the worker's CPU time is counted"
    [pid] = batching._WORKERS[model.id]._processes  # type: ignore[attr-defined]
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    with pytest.raises(RuntimeError, match="worker process of all-MiniLM-L6-v2 stopped"):
        await batcher.embed(["again"])
    assert (await batcher.embed(["again"])).shape == (1, 384), "a new worker takes over"
    await batcher.close()


def test_a_worker_does_not_outlive_its_service() -> None:
    # A service killed outright (SIGKILL: no atexit, no shutdown) leaves its model's worker
    # process orphaned; the worker sees it and ends within about a second.
    import os
    import signal
    import subprocess
    import sys

    script = (
        "import asyncio\n"
        "from prometheus_client import CollectorRegistry\n"
        "from app.embeddings import batcher as b\n"
        "from app.embeddings.minilm import MiniLMEmbedder\n"
        "from app.observability.metrics import Metrics\n"
        "async def main():\n"
        "    m = b.MicroBatcher(MiniLMEmbedder(), Metrics(CollectorRegistry()), max_wait_s=0)\n"
        "    await m.embed(['hello'])\n"
        "    [pid] = b._WORKERS[MiniLMEmbedder.id]._processes\n"
        "    print(pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n")
    service = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        os.kill(service.pid, signal.SIGKILL)
        service.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            with contextlib.suppress(ChildProcessError):  # reparented to us: reaped here
                os.waitpid(worker, os.WNOHANG)
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            raise AssertionError("the worker outlived its service")
    finally:
        service.kill()
        service.wait(10)
        if service.stdout is not None:
            service.stdout.close()
