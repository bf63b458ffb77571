"""`/v1/moderations` throughput: concurrent clients each sending one short text per request.

Starts `lukhas serve` (one worker, embedded PostgreSQL, limits that never refuse) twice:
with the default policy (configs/guardian, semantic rules included: one embedding of the
text per request, shared in micro-batches), then with the same policy without its semantic
rules (patterns, PII, secrets and injection only). Each run warms the model, then drives
CLIENTS concurrent k6 clients for SECONDS, each sending the same short text. Then the bare
embedding model on batches of CLIENTS such texts, in the same run: on a shared machine its
rate says how much of the first figure is the model's cost.

Usage: python bench/moderations.py [CLIENTS=16] [SECONDS=15]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from asgi_overhead import unlimited

ROOT = Path(__file__).resolve().parents[1]
KEY = "lk-bench-0123456789abcdef"
PORT = 8163
TEXT = "Can you recommend a good thriller novel for the weekend?"


def _serve(work: Path, policy_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    env.update({"LUKHAS_DATA_DIR": str(work), "LUKHAS_API_KEYS": KEY,
                "LUKHAS_PORT": str(PORT), "LUKHAS_LOG_LEVEL": "warning",
                "LUKHAS_GUARDIAN_POLICY_DIR": str(policy_dir),
                "LUKHAS_RATE_LIMITS_FILE": str(unlimited(work))})
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/readyz").status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the server did not become ready")


def run(work: Path, policy_dir: Path, clients: int, seconds: float) -> dict[str, float]:
    server = _serve(work, policy_dir)
    try:
        base = f"http://127.0.0.1:{PORT}"
        httpx.post(f"{base}/v1/moderations", headers={"Authorization": f"Bearer {KEY}"},
                   json={"input": ["warm up"] * 16}, timeout=300).raise_for_status()
        out = work / "k6.json"
        env = {**os.environ, "URL": f"{base}/v1/moderations", "KEY": KEY,
               "VUS": str(clients), "DURATION": f"{seconds}s", "OUT": str(out),
               "BODY": json.dumps({"model": "lukhas-guardian-1", "input": TEXT})}
        k6 = Path(sys.executable).parent / "k6"
        subprocess.run([str(k6), "run", "--quiet", "--no-usage-report",
                        str(ROOT / "load" / "http.js")],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result: dict[str, float] = json.loads(out.read_text())
        if result["failed"]:
            raise RuntimeError(f"{result['failed']} requests failed")
        return result
    finally:
        server.terminate()
        server.wait(30)


def bare_model(texts: int, seconds: float) -> float:
    """Texts per second of all-MiniLM-L6-v2 alone, in batches of `texts`."""
    from app.embeddings.minilm import MiniLMEmbedder

    model = MiniLMEmbedder()
    model.embed([TEXT] * texts)
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        model.embed([TEXT] * texts)
        done += texts
    return done / (time.perf_counter() - started)


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 15
    print(f"machine: {os.cpu_count()} cores; {clients} clients, one short text each, "
          f"{seconds}s per policy")
    with tempfile.TemporaryDirectory() as tmp:
        fast = Path(tmp) / "fast-policy"
        shutil.copytree(ROOT / "configs" / "guardian", fast)
        (fast / "semantic.yaml").unlink()
        for name, policy in (("default policy", ROOT / "configs" / "guardian"),
                             ("without semantic rules", fast)):
            work = Path(tmp) / name.replace(" ", "-")
            work.mkdir()
            r = run(work, policy, clients, seconds)
            print(f"{name:<24} {r['rps']:8.1f} requests/s  p50 {r['p50_ms']:7.1f} ms  "
                  f"p99 {r['p99_ms']:7.1f} ms  ({int(r['requests'])} requests)")
    print(f"{'bare model, batches of ' + str(clients):<24} {bare_model(clients, seconds):8.1f} "
          "texts/s")


if __name__ == "__main__":
    main()
