"""What a gateway adds in front of an OpenAI-compatible upstream, all peers in one run.

Starts the mock upstream (`tests/utils/mock_upstream.py`, no recording), then, one at a time
on free ports of 127.0.0.1, each peer in front of it:

  direct       the requests go straight to the mock upstream (the zero-overhead baseline);
  passthrough  a bare FastAPI + httpx pass-through (`load/passthrough_proxy.py`): the floor
               for a Python gateway on httpx's own connection pool;
  passthrough-aiohttp  the same with an aiohttp session, as the façade calls upstreams:
               the floor for the client the façade uses;
  litellm      LiteLLM proxy, installed into `bench/.venvs/litellm` on first use, one worker,
               its logging and callbacks at their documented quietest (see LITELLM_SETTINGS);
  facade       `lukhas serve` with a routing file whose group `bench-gpt` is the mock
               upstream, an API key, rate limits (generous, still checked on every request),
               memory recall and the output policy on (the defaults). When this build does not
               route yet (`bench-gpt` answers 404 model_not_found) the column says so, and the
               built-in `lukhas-matriz` is measured instead, labelled as a reference only.

For each peer, the same chat completions body (a system and a user message, max_tokens 32):
non-streamed with k6 (`load/gateway.js`) at 1 connection (p50, p99) and at 32 (requests/s,
p99, failures); streamed with this script's own HTTP/1.1 client at 1 and 32 connections
(time to the first content delta, p50 and p99: k6 cannot read a response as it arrives, and
its time to first byte would count headers a proxy sends before the upstream's first token).
Prints one table with ratios inside the run, and writes JSON to `bench/results/`.

Usage: .venv/bin/python bench/gateway.py [--duration 8] [--concurrency 32] [--no-install]
           [--peers direct,passthrough,passthrough-aiohttp,litellm,facade] [--keep-logs]
Every process it starts is stopped at the end, on Ctrl-C and on SIGTERM. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
LITELLM_VENV = ROOT / "bench" / ".venvs" / "litellm"
LITELLM_REQUIREMENT = "litellm[proxy]>=1.80,<1.111"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
MODEL = "bench-gpt"  # the mock serves it under this name too, so every peer gets one body
BODY: dict[str, Any] = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a terse assistant. Answer in one short line."},
        {"role": "user", "content": "Name three prime numbers greater than ten."},
    ],
    "max_tokens": 32,
}
PEERS = ("direct", "passthrough", "passthrough-aiohttp", "litellm", "facade")
STREAM_TIMEOUT_S = 30.0
# LiteLLM at its quietest, per its docs (proxy/prod, proxy/debugging, proxy/cli): no database
# (so no spend or error logs written), no callbacks, verbose and JSON logs off, message
# logging off, LITELLM_LOG=ERROR, LITELLM_MODE=PRODUCTION (no .env loading), one worker.
# A master key is set because this version refuses to start without one.
LITELLM_SETTINGS = {
    "litellm_settings": {"set_verbose": False, "json_logs": False,
                         "turn_off_message_logging": True, "telemetry": False,
                         "request_timeout": 30},
    "general_settings": {"disable_spend_logs": True, "disable_error_logs": True},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---------------------------------------------------------------------------------------------
# Processes: every one started here is in its own session, and stopped on the way out.

class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.running[name] = proc
        return proc

    def stop(self, name: str, grace: float = 20.0) -> None:
        proc = self.running.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # lukhas serve stops its embedded database on it
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own group: what it started, nothing else
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)

    def stop_all(self) -> None:
        for name in list(self.running)[::-1]:
            self.stop(name)

    def tail(self, name: str, lines: int = 15) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def post_json(url: str, body: dict[str, Any], key: str | None,
              timeout: float = 30) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw.decode(errors="replace")}


def wait_answering(url: str, body: dict[str, Any], key: str | None, proc: subprocess.Popen[bytes],
                   timeout: float) -> tuple[int, dict[str, Any]]:
    """Poll with the bench body until the peer answers anything but a connection error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with code {proc.returncode} before answering")
        try:
            return post_json(url, body, key, timeout=10)
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    raise RuntimeError(f"did not answer within {timeout:.0f} s")


# ---------------------------------------------------------------------------------------------
# Load: k6 for plain requests, a small HTTP/1.1 client for streams.

def k6_run(procs: Processes, work: Path, name: str, url: str, peer: Peer, vus: int,
           seconds: float) -> dict[str, Any]:
    out = work / f"{name}.json"
    env = {**os.environ, "URL": url, "KEY": peer.key, "BODY": json.dumps(peer.body),
           "VUS": str(vus), "DURATION": f"{seconds:g}s", "OUT": str(out),
           "EXPECT": peer.expect}
    proc = procs.start(f"k6-{name}", [str(BIN / "k6"), "run", "--quiet", "--no-usage-report",
                                      str(ROOT / "load" / "gateway.js")], env=env)
    try:
        proc.wait(seconds + 60)
    finally:
        procs.stop(f"k6-{name}")
    if not out.exists():
        raise RuntimeError(f"k6 wrote no summary: {procs.tail(f'k6-{name}')}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@dataclass
class StreamStats:
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what


def _first_content(event: bytes) -> bool:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return False
            try:
                chunk = orjson.loads(payload)
            except orjson.JSONDecodeError:
                return False
            for choice in chunk.get("choices") or ():
                if (choice.get("delta") or {}).get("content"):
                    return True
    return False


async def _one_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      request: bytes, stats: StreamStats) -> bool:
    """One streamed request on a kept-alive connection; False when the connection must go."""
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    chunked = headers.get("transfer-encoding", "").lower() == "chunked"
    keep = headers.get("connection", "").lower() != "close"
    buffer = b""
    seen_first = done = False
    body = bytearray()

    def feed(data: bytes) -> None:
        nonlocal buffer, seen_first, done
        if status != 200:
            body.extend(data)
            return
        buffer += data
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if not seen_first and _first_content(event):
                stats.ttft.append(time.perf_counter() - started)
                seen_first = True
            if b"data: [DONE]" in event:
                done = True

    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the end
                    pass
                break
            feed((await reader.readexactly(size + 2))[:-2])
    elif "content-length" in headers:
        feed(await reader.readexactly(int(headers["content-length"])))
    else:
        feed(await reader.read())
        keep = False
    if status != 200:
        stats.error(f"HTTP {status}: {bytes(body)[:200].decode(errors='replace')}")
    elif not (seen_first and done):
        stats.error("stream ended without a content delta and [DONE]")
    else:
        stats.total.append(time.perf_counter() - started)
    return keep


async def _stream_worker(port: int, request: bytes, until: float, stats: StreamStats) -> None:
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < until:
        try:
            async with asyncio.timeout(STREAM_TIMEOUT_S):  # a stalled peer fails, never hangs
                if conn is None:
                    conn = await asyncio.open_connection(HOST, port)
                keep = await _one_stream(*conn, request, stats)
            if not keep:
                conn[1].close()
                conn = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError,
                TimeoutError) as exc:
            stats.error(f"no complete answer within {STREAM_TIMEOUT_S:g} s"
                        if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}")
            if conn is not None:
                conn[1].close()
            conn = None
            await asyncio.sleep(0.01)
    if conn is not None:
        conn[1].close()


def stream_run(port: int, path: str, key: str, body: dict[str, Any], connections: int,
               seconds: float) -> dict[str, Any]:
    payload = json.dumps({**body, "stream": True}).encode()
    request = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
               f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
    stats = StreamStats()

    async def main() -> float:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(_stream_worker(port, request, until, stats)
                               for _ in range(connections)))
        return time.perf_counter() - started

    try:
        import uvloop
        elapsed = uvloop.run(main())
    except ImportError:
        elapsed = asyncio.run(main())
    ms = [v * 1000 for v in stats.ttft]
    whole = [v * 1000 for v in stats.total]
    return {"streams_per_s": len(whole) / elapsed, "streams": len(whole),
            "ttft_p50_ms": pct(ms, 0.5), "ttft_p99_ms": pct(ms, 0.99),
            "p50_ms": pct(whole, 0.5), "p99_ms": pct(whole, 0.99),
            "failed": stats.errors, "first_error": stats.first_error}


# ---------------------------------------------------------------------------------------------
# Peers

@dataclass
class Peer:
    name: str
    port: int
    key: str
    path: str = "/v1/chat/completions"
    body: dict[str, Any] = field(default_factory=lambda: dict(BODY))
    label: str = ""
    note: str = ""
    expect: str = "Echo: Name three prime numbers"  # what the mock upstream answers this body


def start_mock(procs: Processes) -> int:
    port = free_port()
    proc = procs.start("mock-upstream", [str(BIN / "python"), "-m", "tests.utils.mock_upstream",
                                         "--host", HOST, "--port", str(port), "--no-record",
                                         "--model", MODEL, "--model", "mock-gpt"],
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    status, answer = wait_answering(f"http://{HOST}:{port}/v1/chat/completions", BODY, None,
                                    proc, 60)
    if status != 200:
        raise RuntimeError(f"mock upstream answered {status}: {answer}")
    return port


def start_passthrough(procs: Processes, upstream: int, transport: str = "httpx") -> Peer:
    name = "passthrough" if transport == "httpx" else f"passthrough-{transport}"
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PASSTHROUGH_TRANSPORT": transport,
           "PASSTHROUGH_UPSTREAM": f"http://{HOST}:{upstream}/v1"}
    proc = procs.start(name, [str(BIN / "uvicorn"), "load.passthrough_proxy:app",
                                       "--host", HOST, "--port", str(port), "--workers", "1",
                                       "--http", "httptools", "--loop", "uvloop",
                                       "--no-access-log", "--log-level", "warning"], env=env)
    label = f"FastAPI + {transport} pass-through"
    peer = Peer(name, port, "none", label=label)
    _check_answer(peer, proc, 60)
    return peer


def litellm_binary(install: bool) -> Path:
    binary = LITELLM_VENV / "bin" / "litellm"
    if binary.exists():
        return binary
    if not install:
        raise RuntimeError(f"not installed in {LITELLM_VENV} (and --no-install given)")
    print(f"installing {LITELLM_REQUIREMENT} into {LITELLM_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True,
                   stdout=subprocess.DEVNULL)
    done = subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q",
                           LITELLM_REQUIREMENT], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not binary.exists():
        raise RuntimeError("pip install failed: " + done.stderr.strip()[-500:])
    return binary


def start_litellm(procs: Processes, work: Path, upstream: int, install: bool) -> Peer:
    binary = litellm_binary(install)
    version = subprocess.run([str(LITELLM_VENV / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True).stdout.strip()
    config = {"model_list": [{"model_name": MODEL, "litellm_params": {
        "model": f"openai/{MODEL}", "api_base": f"http://{HOST}:{upstream}/v1",
        "api_key": "bench-no-key"}}], **LITELLM_SETTINGS}
    path = work / "litellm.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    port = free_port()
    key = "sk-" + secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "DATABASE_URL"))}
    env.update(LITELLM_MASTER_KEY=key, LITELLM_LOG="ERROR", LITELLM_MODE="PRODUCTION",
               NO_DOCS="True")
    proc = procs.start("litellm", [str(binary), "--config", str(path), "--host", HOST,
                                   "--port", str(port), "--num_workers", "1"], env=env, cwd=work)
    peer = Peer("litellm", port, key, label=f"LiteLLM proxy {version}")
    _check_answer(peer, proc, 240)
    return peer


def start_facade(procs: Processes, work: Path, upstream: int) -> Peer:
    routing = work / "routing.yml"
    routing.write_text(
        "version: 1\n"
        "deadline_seconds: 30\n"
        "upstreams:\n"
        "  mock:\n"
        f"    base_url: http://{HOST}:{upstream}/v1\n"
        "    timeouts: {connect_seconds: 5, read_seconds: 30}\n"
        "    pool: {max_connections: 100, max_keepalive: 100, keepalive_seconds: 30}\n"
        "groups:\n"
        f"  {MODEL}:\n"
        "    owned_by: bench\n"
        "    context_window_tokens: 128000\n"
        "    max_output_tokens: 4096\n"
        "    memory: {recall: true, max_tokens: 2000}\n"
        "    deployments:\n"
        f"      - {{upstream: mock, model: {MODEL}}}\n"
        "retries: {count: 0}\n")
    lint = subprocess.run([str(BIN / "lukhas"), "routes", "lint", str(routing)],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if lint.returncode != 0:
        raise RuntimeError(f"routing file refused: {lint.stdout}{lint.stderr}")
    limits = work / "limits.yaml"
    limits.write_text("window_seconds: 60\n"
                      "default: {requests: 1000000000, tokens: 1000000000000}\n")
    key = "lk-bench-" + secrets.token_hex(12)
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LUKHAS_DATABASE_URL", "LUKHAS_REDIS_URL")}
    env.update(PYTHONPATH=str(ROOT), LUKHAS_DATA_DIR=str(work / "lukhas-data"),
               LUKHAS_API_KEYS=key, LUKHAS_LOG_LEVEL="warning",
               LUKHAS_RATE_LIMITS_FILE=str(limits), LUKHAS_ROUTING_FILE=str(routing))
    proc = procs.start("facade", [str(BIN / "lukhas"), "serve", "--host", HOST,
                                  "--port", str(port), "--workers", "1"], env=env)
    peer = Peer("facade", port, key, label="LUKHAS façade → bench-gpt")
    status, answer = wait_answering(f"http://{HOST}:{port}{peer.path}", peer.body, key, proc, 180)
    code = (answer.get("error") or {}).get("code")
    if status == 404 and code == "model_not_found":
        # The built-in model reasons before it answers: 32 tokens would end in reasoning,
        # with no content delta to time; 256 lets it answer in full.
        peer.body = {**BODY, "model": "lukhas-matriz", "max_tokens": 256}
        peer.label = "LUKHAS façade, built-in lukhas-matriz (reference: no upstream)"
        peer.expect = '"choices"'
        peer.note = ("not available: routing not wired (bench-gpt answers 404 "
                     "model_not_found); the built-in model is measured for reference only")
    _check_answer(peer, proc, 30)
    return peer


def _check_answer(peer: Peer, proc: subprocess.Popen[bytes], timeout: float) -> None:
    status, answer = wait_answering(f"http://{HOST}:{peer.port}{peer.path}", peer.body,
                                    peer.key, proc, timeout)
    if status != 200 or peer.expect not in json.dumps(answer, ensure_ascii=False):
        raise RuntimeError(f"answered {status}: {json.dumps(answer)[:300]}")


# ---------------------------------------------------------------------------------------------

def measure(procs: Processes, work: Path, peer: Peer, seconds: float,
            connections: int) -> dict[str, Any]:
    url = f"http://{HOST}:{peer.port}{peer.path}"
    # Warm-up, discarded: connections, caches, the first JIT-less paths of every library;
    # then until the peer's processes are idle (what it loads on first use, such as the
    # façade's embedding model for its first policy review, is not measured as load).
    k6_run(procs, work, f"{peer.name}-warm", url, peer, connections, 2)
    stream_run(peer.port, peer.path, peer.key, peer.body, connections, 1)
    proc = procs.running.get(peer.name)
    if proc is not None:
        settle(proc.pid)
    out: dict[str, Any] = {"label": peer.label or peer.name, "note": peer.note,
                           "model": peer.body["model"]}
    out["plain_1"] = k6_run(procs, work, f"{peer.name}-plain-1", url, peer, 1, seconds)
    out["plain_n"] = k6_run(procs, work, f"{peer.name}-plain-n", url, peer, connections,
                            seconds)
    out["stream_1"] = stream_run(peer.port, peer.path, peer.key, peer.body, 1, seconds)
    out["stream_n"] = stream_run(peer.port, peer.path, peer.key, peer.body, connections,
                                 seconds)
    return out


def _cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its children (threads included), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def settle(pid: int, idle: float = 0.05, window: float = 0.5, limit: float = 30.0) -> None:
    """Wait (at most `limit` s) until `pid` uses under `idle` of a core over `window` s."""
    deadline = time.monotonic() + limit
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = _cpu_seconds(pid)
        if now - before < idle * window:
            return
        before = now


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg_at_start": os.getloadavg(),
            "python": platform.python_version(), "kernel": platform.release()}


def _f(value: Any, fmt: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return format(value, fmt)


def report(results: dict[str, Any], connections: int) -> str:
    peers = results["peers"]
    direct = peers.get("direct", {})
    base = {k: peers.get(k, {}) for k in ("passthrough", "passthrough-aiohttp", "litellm")}

    def added(peer: dict[str, Any], case: str, key: str) -> str:
        if peer is direct or case not in direct or case not in peer:
            return ""
        return f" ({peer[case][key] - direct[case][key]:+.2f})"

    def ratio(peer: dict[str, Any], case: str, key: str, other: dict[str, Any]) -> str:
        if case not in peer or case not in other or not other[case][key]:
            return "—"
        return f"{peer[case][key] / other[case][key]:.2f}×"

    n = connections
    rows = [f"| peer | 1 conn p50 ms (added) | 1 conn p99 ms (added) | {n} conn req/s | "
            f"{n} conn p99 ms | {n} conn failed | ÷ pass-through | ÷ aiohttp pass-through | "
            f"÷ LiteLLM | "
            f"stream 1 conn TTFT p50 ms (added) | TTFT p99 | stream {n} conn TTFT p50 ms "
            f"(added) | TTFT p99 | streams/s | stream failed |",
            "|" + "---|" * 15]
    for name in PEERS:
        peer = peers.get(name)
        if peer is None:
            continue
        if "error" in peer:
            rows.append(f"| {name} | not available: {peer['error']} |" + " |" * 14)
            continue
        p1, pn, s1, sn = peer["plain_1"], peer["plain_n"], peer["stream_1"], peer["stream_n"]
        rows.append(
            f"| {peer['label']} | {_f(p1['p50_ms'])}{added(peer, 'plain_1', 'p50_ms')} | "
            f"{_f(p1['p99_ms'])}{added(peer, 'plain_1', 'p99_ms')} | {_f(pn['rps'], ',.0f')} | "
            f"{_f(pn['p99_ms'])} | {pn['failed']} | "
            f"{ratio(peer, 'plain_n', 'rps', base['passthrough'])} | "
            f"{ratio(peer, 'plain_n', 'rps', base['passthrough-aiohttp'])} | "
            f"{ratio(peer, 'plain_n', 'rps', base['litellm'])} | "
            f"{_f(s1['ttft_p50_ms'])}{added(peer, 'stream_1', 'ttft_p50_ms')} | "
            f"{_f(s1['ttft_p99_ms'])} | "
            f"{_f(sn['ttft_p50_ms'])}{added(peer, 'stream_n', 'ttft_p50_ms')} | "
            f"{_f(sn['ttft_p99_ms'])} | {_f(sn['streams_per_s'], ',.0f')} | "
            f"{s1['failed'] + sn['failed']} |")
    m = results["machine"]
    lines = [f"machine: {m['nproc']} cores, {m['cpu']}; load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}",
             f"command: {results['command']}",
             f"each case {results['duration_s']:g} s; plain: k6 (load/gateway.js); streamed: "
             f"bench/gateway.py's HTTP/1.1 client, TTFT = time to the first content delta",
             "", *rows, ""]
    for name in PEERS:
        if peers.get(name, {}).get("note"):
            lines.append(f"{name}: {peers[name]['note']}")
    return "\n".join(lines)


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    def raise_interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    # SIGINT too: a shell starting us in the background leaves SIGINT ignored.
    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _as_typed(path: str) -> str:
    """A path under the current folder as one would type it (`.venv/bin/python`)."""
    here = os.getcwd() + os.sep
    return path[len(here):] if path.startswith(here) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=8,
                        help="seconds per measured case (default 8; 16 cases in a full run)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--peers", default=",".join(PEERS),
                        help=f"comma-separated subset of {','.join(PEERS)}")
    parser.add_argument("--no-install", action="store_true",
                        help="do not install LiteLLM when bench/.venvs/litellm is missing")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the work folder with every process's log")
    args = parser.parse_args(argv)
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    if unknown := set(wanted) - set(PEERS):
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    if shutil.which(str(BIN / "k6")) is None:
        parser.error(f"k6 not found at {BIN / 'k6'}")
    results: dict[str, Any] = {
        "bench": "gateway", "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join([_as_typed(sys.executable), *sys.argv]),
        "machine": machine(), "duration_s": args.duration, "connections": args.concurrency,
        "body": BODY, "litellm_settings": LITELLM_SETTINGS, "peers": {}}
    work = Path(tempfile.mkdtemp(prefix="lukhas-gateway-bench-"))
    procs = Processes(work)
    started = time.monotonic()
    try:
        with _signals_as_interrupt():
            upstream = start_mock(procs)
            print(f"mock upstream on {HOST}:{upstream}", flush=True)
            for name in wanted:
                print(f"-- {name}", flush=True)
                try:
                    if name == "direct":
                        peer = Peer("direct", upstream, "none", label="direct to the mock upstream")
                    elif name == "passthrough":
                        peer = start_passthrough(procs, upstream)
                    elif name == "passthrough-aiohttp":
                        peer = start_passthrough(procs, upstream, "aiohttp")
                    elif name == "litellm":
                        peer = start_litellm(procs, work, upstream, not args.no_install)
                    else:
                        peer = start_facade(procs, work, upstream)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    print(f"   not available: {exc}\n{procs.tail(name)}", flush=True)
                    results["peers"][name] = {"error": str(exc).splitlines()[0][:200]}
                    procs.stop(name)
                    continue
                if peer.note:
                    print(f"   {peer.note}", flush=True)
                try:
                    results["peers"][name] = measure(procs, work, peer, args.duration,
                                                     args.concurrency)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    print(f"   measurement failed: {exc}", flush=True)
                    results["peers"][name] = {"error": f"measurement failed: {exc}"[:200]}
                    continue
                finally:
                    procs.stop(name)
                r = results["peers"][name]
                print(f"   plain p50 {r['plain_1']['p50_ms']:.2f} ms, "
                      f"{r['plain_n']['rps']:.0f} req/s at {args.concurrency}; stream TTFT p50 "
                      f"{r['stream_1']['ttft_p50_ms']:.2f} ms", flush=True)
    except KeyboardInterrupt:
        print("interrupted: stopping every process started", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        procs.stop_all()
        if not args.keep_logs:
            shutil.rmtree(work, ignore_errors=True)
    results["wall_s"] = round(time.monotonic() - started, 1)
    text = report(results, args.concurrency)
    print()
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"gateway-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwall time {results['wall_s']} s; results in {path.relative_to(ROOT)}"
          + (f"; logs in {work}" if args.keep_logs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
