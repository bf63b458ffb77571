"""Embedding throughput: `/v1/embeddings` under concurrent single-sentence clients, against
the bare model encoding batches of 32, in the same run.

Starts `lukhas serve` (one worker, embedded PostgreSQL, limits that never refuse), warms the
model, then for SECONDS each: CLIENTS concurrent k6 clients each sending one sentence per
request (k6, not a Python client, so the load generator takes little of the two cores); then
the model alone on batches of 32. Also prints the batches the server formed, how long each
model call took and how much of the run the model was busy: the rest is the HTTP work of
answering one batch's callers and taking their next requests, between two model calls.

Usage: python bench/embeddings.py [CLIENTS=16] [SECONDS=15]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from asgi_overhead import unlimited

from app.embeddings.minilm import MiniLMEmbedder

KEY = "lk-bench-0123456789abcdef"
MODEL = "all-MiniLM-L6-v2"
SENTENCES = [f"Sentence number {i} talks about {topic} in a few plain words."
             for i, topic in enumerate(["cats", "rivers", "markets", "music", "code"] * 40)]


def through_api(base: str, clients: int, seconds: float, work: Path) -> float:
    httpx.post(f"{base}/v1/embeddings", headers={"Authorization": f"Bearer {KEY}"},
               json={"model": MODEL, "input": ["warm up"] * 32}, timeout=120).raise_for_status()
    global _BEFORE
    _BEFORE = _model_stats(base)
    out = work / "k6.json"
    env = {**os.environ, "URL": f"{base}/v1/embeddings", "KEY": KEY, "VUS": str(clients),
           "DURATION": f"{seconds}s", "OUT": str(out),
           "BODY": json.dumps({"model": MODEL, "input": SENTENCES[7]})}
    k6 = Path(sys.executable).parent / "k6"
    subprocess.run([str(k6), "run", "--quiet", "--no-usage-report",
                    str(Path(__file__).resolve().parents[1] / "load" / "http.js")],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    if result["failed"]:
        raise RuntimeError(f"{result['failed']} requests failed")
    return float(result["rps"])


_BEFORE: dict[str, float] = {}


def _model_stats(base: str) -> dict[str, float]:
    """Texts embedded, model calls and seconds inside them, from the server's /metrics."""
    text = httpx.get(f"{base}/metrics").text
    values = {}
    for line in text.splitlines():
        for metric in ("batch_size_sum", "batch_size_count", "seconds_sum"):
            prefix = f'lukhas_embeddings_{metric}{{model="{MODEL}"}} '
            if line.startswith(prefix):
                values[metric] = float(line[len(prefix):])
    return values


def batch_sizes(base: str, seconds: float) -> str:
    """What the model calls of the load (not the warm-up) were, and how busy they kept it."""
    after = _model_stats(base)
    d = {k: after[k] - _BEFORE.get(k, 0.0) for k in after}
    calls = d["batch_size_count"]
    return (f"{d['batch_size_sum'] / calls:.1f} texts per model call, "
            f"{d['seconds_sum'] / calls * 1000:.1f} ms each; the model busy "
            f"{d['seconds_sum'] / seconds:.0%} of the time")


def bare_model(seconds: float) -> float:
    model = MiniLMEmbedder()
    model.embed(SENTENCES[:32])
    done = 0
    started = time.perf_counter()
    i = 0
    while time.perf_counter() - started < seconds:
        batch = [SENTENCES[(i + k) % len(SENTENCES)] for k in range(32)]
        model.embed(batch)
        done += 32
        i += 32
    return done / (time.perf_counter() - started)


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 15
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
        env.update({"LUKHAS_DATA_DIR": tmp, "LUKHAS_API_KEYS": KEY, "LUKHAS_PORT": "8151",
                    "LUKHAS_LOG_LEVEL": "warning",
                    "LUKHAS_RATE_LIMITS_FILE": str(unlimited(Path(tmp)))})
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(120):
                try:
                    if httpx.get("http://127.0.0.1:8151/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            api = through_api("http://127.0.0.1:8151", clients, seconds, Path(tmp))
            batches = batch_sizes("http://127.0.0.1:8151", seconds)
        finally:
            server.terminate()
            server.wait(30)
    bare = bare_model(seconds)
    print(f"machine: {os.cpu_count()} cores; {clients} clients, one sentence each, {seconds}s")
    print(f"/v1/embeddings     {api:8.1f} sentences/s  ({batches})")
    print(f"bare model (b=32)  {bare:8.1f} sentences/s")
    print(f"API / bare model   {api / bare:8.1%}")


if __name__ == "__main__":
    main()
