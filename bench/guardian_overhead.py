"""What the Guardian costs: CPU per request on `/v1/responses`, time to the first delta under
concurrent streams, and how fast a failure inside it denies (fail-closed activation).

Drives the ASGI app directly with the lifespan running, on the embedded PostgreSQL, in the
style of bench/asgi_overhead.py. Three apps take turns within each round:

  off       the Guardian removed: no request check, the Risk stage a pass-through
  default   the default policy (configs/guardian), as shipped
  default*  the same, its semantic rules (which only log) left out, as they run after the
            answer, off its path: the CPU they add is the embedding of every text

CPU is process time (user + system) per request, the background reviews included (the
clock stops once they have run), with the CPU time of the embedding worker process (where
all-MiniLM-L6-v2 runs) for them. Time to first delta: 32 streams at once, from the request
to the first `response.output_text.delta`, p50 and p95. Activation: the production lane with
a test policy whose pattern backtracks past its budget, from the request to its 503.

Apps started one after another meet a shared machine's load at different times (on a noisy
day the same code measured +8% and +49% in two runs). So default* and default are measured a
second way, each in one process: the Guardian switched out and in every 20 requests, in
alternating order, and the added CPU is the median of the paired differences; quote those
figures. default* is measured twice: with a new question each request (its texts scanned),
and with bench/asgi_overhead.py's own request sent every time (its texts and its answer found
clean once, then not scanned again: what the Guardian costs an application repeating a
prompt); default with a new question, its reviews' CPU (the embedding worker's too) counted
in the batch that admitted them.

The default policy's semantic reviews (an embedding each, sampled) run within a budget: the
lane's share of a core, with one window's allowance that a new app spends at once. Its CPU
over a few hundred requests is mostly that allowance; the steady-state measure (`--steady`
seconds of requests after two seconds of them, taking turns with `off`) gives what the
reviews take for good.

Usage: PYTHONPATH=. python bench/guardian_overhead.py [REQUESTS] [--streams N] [--batches N]
           [--steady SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import orjson

from app.db.embedded import EmbeddedPostgres
from app.guardian.reload import DEFAULT_DIR
from app.main import create_app
from app.matriz.contract import Event, RunContext, Stage
from app.middleware.guardian import GuardianMiddleware
from app.settings import Settings
from bench.asgi_overhead import call, unlimited
from bench.timing import http_scope

KEY = "lk-bench-guardian-0123456789"
LID_KEYS = '{"k1": "bench-signing-key-0123456789abcdef0123456789"}'
QUESTION = {"model": "lukhas-matriz", "store": False,
            "input": "Explain in a few sentences how a rainbow forms after the rain."}
# bench/asgi_overhead.py's `responses store=false` request: its texts, found clean once, are
# not scanned again (app/guardian/clean_texts.py), nor is its answer.
ASGI_OVERHEAD_REQUEST = orjson.dumps(
    {"model": "lukhas-matriz", "input": "What is 2+2?", "store": False})
_counter = itertools.count()
T = TypeVar("T")


def fresh(question: dict[str, Any] = QUESTION, **extra: Any) -> bytes:
    """The body of `question` with a word of its own at the end of its input: a text the
    Guardian has not seen before. Its request check keeps the texts it found clean and does
    not scan them again (app/guardian/clean_texts.py); the same question each time would
    measure that shortcut, not the check."""
    n, tag = next(_counter), ""
    while not tag or n:
        n, letter = divmod(n, 26)
        tag += "abcdefghijklmnopqrstuvwxyz"[letter]
    text = question["input"]
    if isinstance(text, list):  # a conversation: its last message is the new one
        last = text[-1]
        text = [*text[:-1], {**last, "content": f"{last['content']} Ref {tag}."}]
    else:
        text = f"{text} Ref {tag}."
    return orjson.dumps({**question, **extra, "input": text})


class _PassThrough(Stage):
    name = "risk"

    async def stream(self, ctx: RunContext,
                     upstream: AsyncIterator[Event]) -> AsyncIterator[Event]:
        async for event in upstream:
            yield event


def _without_guardian(app: Any) -> None:
    """Take the Guardian out of a started app: its middleware and its Risk stage."""
    _guardian_switch(app)(False)


def _guardian_switch(app: Any) -> Callable[..., None]:
    """A function putting the Guardian of a started app in (True) or out (False): `switch(on)`
    both its parts, `switch(check, risk)` the request check (its middleware) and the output
    check (its Risk stage) each."""
    state = app.state.lukhas
    with_it = list(app.user_middleware)
    without = [m for m in with_it if m.cls is not GuardianMiddleware]
    orchestrators = [service._orchestrator for service in (state.responses, state.chat)]
    stages = [(o.stages, tuple(_PassThrough() if s.name == "risk" else s for s in o.stages))
              for o in orchestrators]

    def switch(check: bool, risk: bool | None = None) -> None:
        app.user_middleware = with_it if check else without
        app.middleware_stack = None  # built again on the next request
        for orchestrator, (guarded, bare) in zip(orchestrators, stages, strict=True):
            orchestrator.stages = guarded if (check if risk is None else risk) else bare
    return switch


async def take_turns(app: Any, settings: Mapping[T, Callable[[], None]], batches: int,
                     size: int = 20, body: Callable[[], bytes] = fresh) -> dict[T, list[float]]:
    """CPU µs per request under each of `settings` (each a function putting it in place), in
    one process: they take turns every `size` requests, `batches` times each, in an order
    reversed every other batch, so that the load of a shared machine weighs on all alike
    (apps started one after another do not share it). `body`: each request's (a new question
    each time, by default). The embedding worker's CPU for the semantic reviews is counted
    with the batch whose reviews it ran (the batch waits for them)."""
    order = list(settings)
    out: dict[T, list[float]] = {setting: [] for setting in order}
    for i in range(batches):
        for setting in (order if i % 2 == 0 else order[::-1]):
            settings[setting]()
            for _ in range(3):  # the middleware stack is built again outside the clock
                await call(app, "POST", "/v1/responses", body(), KEY)
            cpu = _cpu(app)
            for _ in range(size):
                await call(app, "POST", "/v1/responses", body(), KEY)
            await _drain(app)
            out[setting].append((_cpu(app) - cpu) / size * 1e6)
    return out


async def paired(app: Any, batches: int, size: int = 20,
                 body: Callable[[], bytes] = fresh) -> tuple[list[float], list[float]]:
    """CPU µs per request with the Guardian out and in (`take_turns`); left in."""
    switch = _guardian_switch(app)
    out = await take_turns(app, {False: lambda: switch(False), True: lambda: switch(True)},
                           batches, size, body)
    switch(True)
    return out[False], out[True]


def _policy_without_semantic(directory: Path) -> Path:
    out = directory / "policy-fast"
    shutil.copytree(DEFAULT_DIR, out)
    (out / "semantic.yaml").unlink()
    return out


def _failing_policy(directory: Path) -> Path:
    out = directory / "policy-failing"
    shutil.copytree(DEFAULT_DIR, out)
    (out / "slow.yaml").write_text(
        "rules:\n  - name: bench.slow\n    direction: [input]\n    category: policy\n"
        "    detector: pattern\n    patterns: ['(b|bb)+$']\n    action: block\n")
    return out


async def _drain(app: Any) -> None:
    reviews = app.state.lukhas.enforcement._reviews
    while reviews:
        await asyncio.gather(*list(reviews), return_exceptions=True)


def _cpu(app: Any) -> float:
    """This process's CPU time and the embedding worker process's, in seconds."""
    return time.process_time() + app.state.lukhas.embedding_models.worker_cpu_seconds()


async def cpu_per_request(app: Any, n: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per request over `n` requests, background reviews included (with
    the embedding worker process's CPU time for them)."""
    status, out = await call(app, "POST", "/v1/responses", fresh(), KEY)
    assert status == 200, out
    await _drain(app)
    cpu, wall = _cpu(app), time.perf_counter()
    for _ in range(n):
        await call(app, "POST", "/v1/responses", fresh(), KEY)
    await _drain(app)
    return ((_cpu(app) - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6)


async def _for(app: Any, seconds: float) -> int:
    """Requests one after another for `seconds`; how many."""
    ends, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < ends:
        await call(app, "POST", "/v1/responses", fresh(), KEY)
        n += 1
    return n


async def steady(app: Any, warm_s: float, seconds: float) -> float:
    """CPU µs per request (the embedding worker's included) over `seconds` of requests one
    after another, after `warm_s` of them: long enough for the semantic reviews' allowance
    to be spent, so that what they take is their steady share (the lane's review_cpu_share
    of a core), not the first reviews a new app admits at once."""
    await _for(app, warm_s)
    cpu = _cpu(app)
    n = await _for(app, seconds)
    await _drain(app)
    return (_cpu(app) - cpu) / n * 1e6


async def first_delta(app: Any, streams: int) -> list[float]:
    """Milliseconds from the request to its first text delta, for `streams` at once."""

    async def one() -> float:
        body = fresh(stream=True)
        started = time.perf_counter()
        first: float | None = None
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal first
            if (first is None and message["type"] == "http.response.body"
                    and b"response.output_text.delta" in message.get("body", b"")):
                first = time.perf_counter()

        await app(http_scope("POST", "/v1/responses", body, KEY), receive, send)
        assert first is not None, "no text delta"
        return (first - started) * 1000

    return list(await asyncio.gather(*(one() for _ in range(streams))))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def activation(url: str, directory: Path,
                     runs: int = 20) -> tuple[list[float], float]:
    """Milliseconds from a request to its 503, in the production lane, with a pattern that
    backtracks past the scan's budget; and the mean time inside the scan itself (from its
    start to the failure), from lukhas_guardian_scan_seconds."""
    app = create_app(Settings(database_url=url, api_keys=KEY, data_dir=directory,
                              lane="production", lid_keys=LID_KEYS,
                              guardian_policy_dir=_failing_policy(directory),
                              rate_limits_file=unlimited(directory), log_level="critical"))
    times = []
    async with app.router.lifespan_context(app):
        body = orjson.dumps({"model": "lukhas-matriz", "input": "b" * 60 + "!"})
        for _ in range(runs):
            started = time.perf_counter()
            status, out = await call(app, "POST", "/v1/responses", body, KEY)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 503, out
        registry = app.state.lukhas.metrics.registry
        total = registry.get_sample_value("lukhas_guardian_scan_seconds_sum",
                                          {"lane": "production"}) or 0.0
        count = registry.get_sample_value("lukhas_guardian_scan_seconds_count",
                                          {"lane": "production"}) or 1.0
    return times, total / count * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("requests", type=int, nargs="?", default=700)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=100,
                        help="batches of 20 requests each way, for the paired measure")
    parser.add_argument("--steady", type=float, default=4.0,
                        help="seconds of requests per app for the steady-state measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pg")
        url = pg.start()
        try:
            def settings(name: str, **extra: Any) -> Settings:
                (root / name).mkdir(exist_ok=True)
                return Settings(database_url=url, api_keys=KEY, data_dir=root / name,
                                rate_limits_file=unlimited(root), log_level="critical",
                                long_term_memory=False, **extra)

            # One app runs at a time (its own lifespan each round): process CPU, which the
            # background tick and the embedding threads add to, is then that app's alone.
            apps = {"off": lambda: create_app(settings("off")),
                    "default": lambda: create_app(settings("default")),
                    "default*": lambda: create_app(settings(
                        "fast", guardian_policy_dir=fast_policy))}
            fast_policy = _policy_without_semantic(root)
            cpu: dict[str, list[float]] = {name: [] for name in apps}
            wall: dict[str, list[float]] = {name: [] for name in apps}
            ttfd: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.rounds):
                for name, make in apps.items():
                    app = make()
                    async with app.router.lifespan_context(app):
                        if name == "off":
                            _without_guardian(app)
                        await cpu_per_request(app, 50)  # warm: caches, the embedding model
                        c, w = await cpu_per_request(app, args.requests // args.rounds)
                        cpu[name].append(c)
                        wall[name].append(w)
                        ttfd[name] += await first_delta(app, args.streams)
            base = statistics.median(cpu["off"])
            print(f"/v1/responses store=false; median of {args.rounds} interleaved rounds,"
                  f" {args.requests} requests each")
            for name in apps:
                c = statistics.median(cpu[name])
                print(f"{name:<9} CPU {c:8.1f} µs/request  wall "
                      f"{statistics.median(wall[name]):8.1f} µs  added CPU "
                      f"{(c - base) / base:+6.1%}")
            base_p50 = pct(ttfd["off"], 0.5)
            print(f"time to first delta, {args.streams} concurrent streams "
                  f"({args.rounds} bursts)")
            for name in apps:
                p50, p95 = pct(ttfd[name], 0.5), pct(ttfd[name], 0.95)
                print(f"{name:<9} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  added p50 "
                      f"{p50 - base_p50:+6.2f} ms")
            # The default policy's semantic reviews run on a budget (the lane's share of a
            # core, with an allowance of one window): a few hundred requests of a new app
            # see the allowance, not the share. Over seconds, taking turns with `off`:
            held: dict[str, list[float]] = {"off": [], "default": []}
            for i in range(3):
                for name in (("off", "default") if i % 2 == 0 else ("default", "off")):
                    app = apps[name]()
                    async with app.router.lifespan_context(app):
                        if name == "off":
                            _without_guardian(app)
                        held[name].append(await steady(app, 2.0, args.steady))
            base_held = statistics.median(held["off"])
            print(f"steady state, {args.steady:g} s of requests after 2 s, 3 turns each: off "
                  f"{base_held:.1f} µs/request, default {statistics.median(held['default']):.1f}"
                  f" µs/request (medians), added "
                  f"{(statistics.median(held['default']) - base_held) / base_held:+.1%}")
            # The paired measure, in one process each: default* with a new question each
            # request and with bench/asgi_overhead.py's own request; the default policy (its
            # semantic reviews and their embeddings included) with a new question.
            measured: list[tuple[str, str, tuple[list[float], list[float]]]] = []
            for name in ("default*", "default"):
                app = apps[name]()
                async with app.router.lifespan_context(app):
                    await cpu_per_request(app, 100)
                    measured.append((name, "a new question each request",
                                     await paired(app, args.batches)))
                    if name == "default*":
                        measured.append((name, "bench/asgi_overhead.py's request, the same "
                                         "each time", await paired(
                                             app, args.batches,
                                             body=lambda: ASGI_OVERHEAD_REQUEST)))
            for name, what, (off, on) in measured:
                gaps = [b - a for a, b in zip(off, on, strict=True)]
                print(f"{name} in one process, {what}, switched every 20 requests "
                      f"({args.batches} batches each): off {statistics.median(off):.1f} "
                      f"µs/request, on {statistics.median(on):.1f} µs/request (medians), "
                      f"added {statistics.median(gaps):+.1f} µs = "
                      f"{statistics.median(gaps) / statistics.median(off):+.1%} (median of "
                      f"the paired differences; their mean {statistics.fmean(gaps):+.1f} µs, "
                      "which rare costly batches weigh on: a semantic review's embedding, a full "
                      "garbage collection)")
            (root / "activation").mkdir()
            times, in_scan = await activation(url, root / "activation")
            print(f"fail-closed activation, production lane (scan budget 50 ms), "
                  f"{len(times)} requests: request to 503 p50 {pct(times, 0.5):.1f} ms, "
                  f"max {max(times):.1f} ms; scan start to denial, mean {in_scan:.1f} ms")
        finally:
            pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
