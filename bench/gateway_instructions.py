"""CPU instructions per gateway request, counted by callgrind: repeatable on a noisy machine.

Drives the ASGI app in-process (no HTTP server, no client library on our side) with the
lifespan running, on the embedded PostgreSQL, with an API key, rate limits that never refuse
but run on every request, memory recall and the output policy on, and a routing file whose
group `bench-gpt` is the mock upstream (`tests/utils/mock_upstream.py`, a separate process
on 127.0.0.1, so its own work is not counted). The body is `bench/gateway.py`'s. The
`passthrough` cases send it through `load/passthrough_proxy.py` on an aiohttp session
instead, the floor for a Python gateway, in the same process and run.

Run as `python bench/gateway_instructions.py`: it starts itself again under
`valgrind --tool=callgrind` with collection only inside the measured section (the section
runs inside `functools.reduce`, the one function collection is toggled on; nothing on the
request path calls it), and prints instructions per request for each case. Wall-clock time
under valgrind means nothing; instruction counts do not depend on the machine's load.
The routing file's reload poll is set to an hour so that the slowed-down clock does not add
reloads to the count.

Usage: .venv/bin/python bench/gateway_instructions.py [--requests 20] [--warmup 30]
           [--cases chat,chat-stream,responses,responses-stream,passthrough,passthrough-stream]
           [--profile N] [--set FIELD=VALUE ...]
       (--profile N: no valgrind; the same cases under cProfile, the N functions with the most
        cumulative time each, to see where the instructions go; with PROFILE_DUMP=FILE in the
        environment, the whole profile is also written there, for pstats;
        --set FIELD=VALUE: a setting of the façade's, as app/settings.py names it, for an A/B
        of one feature, e.g. --set experience_log=false)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import operator
import os
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gateway import BODY, HOST, MODEL  # noqa: E402
from bench.timing import http_scope  # noqa: E402

KEY = "lk-bench-0123456789abcdef"
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/v1/chat/completions", BODY),
    "chat-stream": ("/v1/chat/completions", {**BODY, "stream": True}),
    "responses": ("/v1/responses", {"model": MODEL, "instructions": BODY["messages"][0]["content"],
                                    "input": BODY["messages"][1]["content"],
                                    "max_output_tokens": 32, "store": False}),
    "responses-stream": ("/v1/responses", {
        "model": MODEL, "instructions": BODY["messages"][0]["content"],
        "input": BODY["messages"][1]["content"], "max_output_tokens": 32, "store": False,
        "stream": True}),
    # The floor: load/passthrough_proxy.py on an aiohttp session, the same body forwarded.
    "passthrough": ("/v1/chat/completions", BODY),
    "passthrough-stream": ("/v1/chat/completions", {**BODY, "stream": True}),
}


async def call(app: Any, path: str, body: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI app, as uvicorn would hand it over."""
    scope = http_scope("POST", path, body, KEY)
    sent = False
    status = 0
    chunks: list[bytes] = []
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    done.set()
    return status, b"".join(chunks)


# The mock upstream's whole answer, or the end of a stream that carried it.
_ANSWERED = (b"Echo: Name three prime numbers", b"data: [DONE]", b"event: response.completed")


async def run_case(app: Any, path: str, body: bytes, n: int) -> None:
    for _ in range(n):
        status, out = await call(app, path, body)
        if status != 200 or not any(mark in out for mark in _ANSWERED):
            raise RuntimeError(f"{path} answered {status}: {out[:300]!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_mock() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.utils.mock_upstream", "--host", HOST, "--port", str(port),
         "--no-record", "--model", MODEL], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/v1/models", timeout=2).read()
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the mock upstream did not start")


def measured(args: argparse.Namespace) -> None:
    """Inside valgrind: set up, warm up, then each case inside its own `operator.call`."""
    from contextlib import AsyncExitStack

    from app.db.embedded import EmbeddedPostgres
    from app.main import create_app
    from app.settings import Settings
    from load.passthrough_proxy import create_app as passthrough

    mock, port = start_mock()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            routing = work / "routing.yml"
            routing.write_text(
                "version: 1\ndeadline_seconds: 30\nupstreams:\n  mock:\n"
                f"    base_url: http://{HOST}:{port}/v1\n"
                "    timeouts: {connect_seconds: 5, read_seconds: 30}\n"
                "    pool: {max_connections: 100, max_keepalive: 100, keepalive_seconds: 300}\n"
                f"groups:\n  {MODEL}:\n    owned_by: bench\n    context_window_tokens: 128000\n"
                "    max_output_tokens: 4096\n    memory: {recall: true, max_tokens: 2000}\n"
                f"    deployments:\n      - {{upstream: mock, model: {MODEL}}}\n"
                "retries: {count: 0}\n")
            limits = work / "limits.yaml"
            limits.write_text("window_seconds: 60\n"
                              "default: {requests: 1000000000, tokens: 1000000000000}\n")
            pg = EmbeddedPostgres(work / "pg")
            url = pg.start()
            loop = asyncio.new_event_loop()
            stack = AsyncExitStack()
            try:
                app = create_app(Settings(database_url=url, api_keys=KEY, data_dir=work,
                                          rate_limits_file=limits, routing_file=routing,
                                          routing_reload_seconds=3600, log_level="warning",
                                          **dict(args.set)))
                loop.run_until_complete(stack.enter_async_context(
                    app.router.lifespan_context(app)))
                floor = passthrough(f"http://{HOST}:{port}/v1", transport="aiohttp")
                loop.run_until_complete(stack.enter_async_context(
                    floor.router.lifespan_context(floor)))
                apps = {name: floor if name.startswith("passthrough") else app
                        for name in args.cases}
                for name in args.cases:
                    path, body = CASES[name]
                    loop.run_until_complete(run_case(apps[name], path, orjson.dumps(body),
                                                     args.warmup))
                for name in args.cases:
                    path, body = CASES[name]
                    raw = orjson.dumps(body)
                    print(f"case {name}", file=sys.stderr, flush=True)
                    # Collection is on only inside operator.call, and the profile is dumped as
                    # it returns: one file per case.
                    if args.profile:
                        profiler = cProfile.Profile()
                        profiler.enable()
                    operator.call(loop.run_until_complete, run_case(apps[name], path, raw,
                                                                    args.requests))
                    if args.profile:
                        profiler.disable()
                        pstats.Stats(profiler).sort_stats(args.sort).print_stats(
                            args.profile)
                        if os.environ.get("PROFILE_DUMP"):
                            profiler.dump_stats(os.environ["PROFILE_DUMP"])
                loop.run_until_complete(stack.aclose())
            finally:
                loop.close()
                pg.stop()
    finally:
        mock.kill()
        mock.wait(5)


def outer(args: argparse.Namespace) -> int:
    """Run `measured` under callgrind and print instructions per request for each case."""
    with tempfile.TemporaryDirectory(prefix="lukhas-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        argv = ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                "--toggle-collect=_operator_call", "--dump-after=_operator_call",
                f"--callgrind-out-file={out}", sys.executable, __file__, "--inside",
                "--requests", str(args.requests), "--warmup", str(args.warmup),
                "--cases", ",".join(args.cases),
                *(a for field, value in args.set for a in ("--set", f"{field}={value}"))]
        started = time.monotonic()
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return done.returncode
        dumps = sorted(Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]))
        if len(dumps) != len(args.cases):
            print(f"expected {len(args.cases)} profiles, found {len(dumps)}", file=sys.stderr)
            return 1
        print(f"instructions per request, {args.requests} requests per case after "
              f"{args.warmup} warm-up requests ({time.monotonic() - started:.0f} s under "
              "callgrind)")
        for name, dump in zip(args.cases, dumps, strict=True):
            total = int(re.search(r"^(?:summary|totals): (\d+)", dump.read_text(),
                                  re.M).group(1))  # type: ignore[union-attr]
            print(f"{name:<18} {total / args.requests:>12,.0f}")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="no valgrind: run the cases under cProfile and print the N "
                             "functions with the most cumulative time, per case")
    parser.add_argument("--sort", default="cumulative",
                        help="the profile's order (a pstats key: cumulative, tottime, ...)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        type=lambda a: tuple(a.split("=", 1)),
                        help="a setting of the façade (app/settings.py), for an A/B")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if bad := [f for f in args.set if len(f) != 2]:
        parser.error(f"--set takes FIELD=VALUE, not {bad[0][0]!r}")
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if unknown := set(args.cases) - set(CASES):
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    if args.inside or args.profile:
        measured(args)
        return 0
    return outer(args)


if __name__ == "__main__":
    sys.exit(main())
