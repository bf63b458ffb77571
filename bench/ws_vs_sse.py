"""Responses over a WebSocket against Responses over SSE, under the same load, in one run.

Starts `lukhas serve` (one worker, the embedded PostgreSQL in a temporary directory, rate
limits that never refuse, the built-in model `lukhas-matriz`) on a free port of 127.0.0.1;
then, one transport after the other, N clients (default 32) each run turn after turn for D
seconds (default 10): over SSE a `POST /v1/responses` with `stream: true` on a kept-alive
connection, over the WebSocket a `response.create` on one socket per client. Workloads:

  fresh        a one-off question each turn (`store: false`), the same body on both.
  chain        each client continues its own conversation (a new one every 8 turns) with
               `previous_response_id`: over SSE with `store: true` (HTTP can continue only
               what was stored), over the WebSocket with `store: false` (the socket's own
               state). What the socket's state saves a client, storage included.
  chain-stored the same chains, `store: true` on both transports (both read the chain back
               from storage): the transport alone.

Per workload and transport: turns/s; from sending the request to the first event
(`response.created`), to the first text delta, and to the terminal event: p50 and p99 in ms.
The clients are this script's own, in one asyncio loop (uvloop when installed): a minimal
HTTP/1.1 reader for SSE (kept-alive, chunked) and the `websockets` library; they share the
machine's cores with the server, as any load test here does.

Usage: python bench/ws_vs_sse.py [--clients 32] [--duration 10] [--workloads fresh,chain,...]
The server it starts is stopped at the end, on Ctrl-C and on SIGTERM. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MODEL = "lukhas-matriz"
CHAIN_TURNS = 8  # a conversation's length before a client starts a new one
TURN_TIMEOUT_S = 30.0
QUESTIONS = ("What is 12*(3+4)?", "My favourite number is 84.", "What is 7*6?",
             "What is my favourite number?")
TERMINAL = (b'"response.completed"', b'"response.incomplete"', b'"response.failed"')


@dataclass
class Stats:
    first_event: list[float] = field(default_factory=list)
    first_delta: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what


@dataclass
class Turn:
    """What one turn gave: its response id, and its times from the request's start."""

    response_id: str = ""
    first_event: float | None = None
    first_delta: float | None = None
    terminal: bytes = b""


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def body(workload: str, transport: str, turn: int, previous: str | None) -> dict[str, Any]:
    stored = workload == "chain-stored" or (workload == "chain" and transport == "sse")
    request: dict[str, Any] = {"model": MODEL, "input": QUESTIONS[turn % len(QUESTIONS)],
                               "store": stored}
    if workload != "fresh" and previous is not None:
        request["previous_response_id"] = previous
    return request


def observe(turn: Turn, event: bytes, started: float) -> None:
    """Note the times of the first event and the first text delta; keep the terminal type."""
    now = time.perf_counter() - started
    if turn.first_event is None:
        turn.first_event = now
        turn.response_id = orjson.loads(event)["response"]["id"]
    elif turn.first_delta is None and b'"response.output_text.delta"' in event[:40]:
        turn.first_delta = now
    head = event[:32]
    for terminal in TERMINAL:
        if terminal in head:
            turn.terminal = terminal.strip(b'"')


# ---------------------------------------------------------------------------------------------
# The two transports: each runs one turn on its connection and returns what it saw.

class SSEClient:
    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def turn(self, request: dict[str, Any]) -> Turn:
        if self.conn is None:
            self.conn = await asyncio.open_connection(HOST, self.port)
        reader, writer = self.conn
        payload = orjson.dumps({**request, "stream": True})
        started = time.perf_counter()
        writer.write(f"POST /v1/responses HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer "
                     f"{self.key}\r\nContent-Type: application/json\r\nAccept: "
                     f"text/event-stream\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                     + payload)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if b"transfer-encoding: chunked" not in head.lower():
            raise RuntimeError(f"HTTP {status}: {head[:300]!r}")
        turn, buffer, body = Turn(), b"", b""
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunk = (await reader.readexactly(size + 2))[:-2]
            if status != 200:
                body += chunk
                continue
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                data = frame.partition(b"\ndata: ")[2]
                if data:
                    observe(turn, data, started)
        await reader.readuntil(b"\r\n")
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
        return turn

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None


class SocketClient:
    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.ws: ClientConnection | None = None

    async def turn(self, request: dict[str, Any]) -> Turn:
        if self.ws is None:
            self.ws = await connect(f"ws://{HOST}:{self.port}/v1/responses",
                                    additional_headers={"Authorization": f"Bearer {self.key}"},
                                    compression=None, max_size=None)
        started = time.perf_counter()
        await self.ws.send(orjson.dumps({"type": "response.create", **request}).decode())
        turn = Turn()
        while not turn.terminal:
            message = await self.ws.recv(decode=False)
            if message.startswith(b'{"type":"error"'):
                raise RuntimeError(message[:300].decode(errors="replace"))
            observe(turn, message, started)
        return turn

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None


Client = SSEClient | SocketClient


async def client_loop(client: Client, workload: str, transport: str, until: float,
                      stats: Stats) -> None:
    previous: str | None = None
    n = 0
    while time.perf_counter() < until:
        if n % CHAIN_TURNS == 0:
            previous = None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(TURN_TIMEOUT_S):
                turn = await client.turn(body(workload, transport, n, previous))
        except Exception as exc:  # counted, reported, and the client starts over
            stats.error(f"{type(exc).__name__}: {exc}")
            await client.close()
            previous = None
            await asyncio.sleep(0.05)
            continue
        n += 1
        if turn.terminal != b"response.completed" or turn.first_event is None:
            stats.error(f"ended {turn.terminal.decode() or 'without a terminal event'}")
            previous = None
            continue
        stats.first_event.append(turn.first_event)
        if turn.first_delta is not None:
            stats.first_delta.append(turn.first_delta)
        stats.whole.append(time.perf_counter() - started)
        previous = turn.response_id
    await client.close()


def run(port: int, key: str, workload: str, transport: str, clients: int,
        seconds: float) -> dict[str, Any]:
    stats = Stats()
    make: Callable[[], Client] = ((lambda: SSEClient(port, key)) if transport == "sse"
                                  else (lambda: SocketClient(port, key)))

    async def main() -> float:
        started = time.perf_counter()
        until = started + seconds
        loops: list[Awaitable[None]] = [client_loop(make(), workload, transport, until, stats)
                                        for _ in range(clients)]
        await asyncio.gather(*loops)
        return time.perf_counter() - started

    try:
        import uvloop
        elapsed = uvloop.run(main())
    except ImportError:
        elapsed = asyncio.run(main())

    def ms(values: list[float], q: float) -> float:
        return pct(values, q) * 1000

    return {"turns_per_s": len(stats.whole) / elapsed, "turns": len(stats.whole),
            "first_event_p50": ms(stats.first_event, 0.5),
            "first_event_p99": ms(stats.first_event, 0.99),
            "first_delta_p50": ms(stats.first_delta, 0.5),
            "first_delta_p99": ms(stats.first_delta, 0.99),
            "whole_p50": ms(stats.whole, 0.5), "whole_p99": ms(stats.whole, 0.99),
            "errors": stats.errors, "first_error": stats.first_error}


# ---------------------------------------------------------------------------------------------
# The server

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(work: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    limits = work / "limits.yaml"
    limits.write_text("window_seconds: 60\ndefault: {requests: 1000000000, "
                      "tokens: 1000000000000}\n")
    key = "lk-bench-" + secrets.token_hex(12)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    env.update(PYTHONPATH=str(ROOT), LUKHAS_DATA_DIR=str(work / "data"), LUKHAS_API_KEYS=key,
               LUKHAS_LOG_LEVEL="warning", LUKHAS_RATE_LIMITS_FILE=str(limits))
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", HOST,
                             "--port", str(port), "--workers", "1"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((work / "server.log").read_text(errors="replace")[-2000:])
        with contextlib.suppress(OSError), urllib.request.urlopen(
                f"http://{HOST}:{port}/readyz", timeout=1) as resp:
            if resp.status == 200:
                return proc, port, key
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("the server did not become ready in 180 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # lukhas serve stops its embedded database on it
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: what it started, nothing else
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def report(results: dict[str, dict[str, dict[str, Any]]], clients: int, seconds: float) -> str:
    lines = [f"{clients} clients, {seconds:g} s per case, lukhas serve (1 worker), {MODEL}",
             "", "| workload | transport | turns/s | first event p50 / p99 (ms) | first text "
             "delta p50 / p99 (ms) | whole turn p50 / p99 (ms) | errors |",
             "|---|---|---|---|---|---|---|"]
    for workload, by_transport in results.items():
        for transport, r in by_transport.items():
            lines.append(
                f"| {workload} | {transport} | {r['turns_per_s']:.0f} | "
                f"{r['first_event_p50']:.2f} / {r['first_event_p99']:.2f} | "
                f"{r['first_delta_p50']:.2f} / {r['first_delta_p99']:.2f} | "
                f"{r['whole_p50']:.2f} / {r['whole_p99']:.2f} | {r['errors']} |")
    errors = [f"{w}/{t}: {r['first_error']}" for w, by in results.items()
              for t, r in by.items() if r["first_error"]]
    return "\n".join(lines + (["", *errors] if errors else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--workloads", default="fresh,chain,chain-stored")
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, interrupt)
    with tempfile.TemporaryDirectory(prefix="ws-vs-sse-") as tmp:
        proc, port, key = start_server(Path(tmp))
        try:
            results: dict[str, dict[str, dict[str, Any]]] = {}
            for workload in workloads:
                for transport in ("sse", "websocket"):
                    # A short warm-up on each, so neither pays for first connections and caches.
                    run(port, key, workload, transport, args.clients, min(2.0, args.duration))
                    results.setdefault(workload, {})[transport] = run(
                        port, key, workload, transport, args.clients, args.duration)
                    print(f"{workload} / {transport}: done", file=sys.stderr)
            print(report(results, args.clients, args.duration))
        finally:
            stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
