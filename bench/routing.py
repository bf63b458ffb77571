"""Cost of routing one request, and of loading the routing file.

Prints µs per `pick()` on `configs/routing.example.yml` for a plain group, an A/B split with
fallbacks, and with one deployment cooling down; and ms per full load (YAML, schema, checks).

Usage: python bench/routing.py [PICKS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from app.routing.cooldown import CooldownSnapshot
from app.routing.load import load_routing
from app.routing.pick import Caller, pick

EXAMPLE = Path(__file__).resolve().parents[1] / "configs" / "routing.example.yml"


def _per_call_us(fn: object, n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            fn(i)  # type: ignore[operator]
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    picks = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    config = load_routing(EXAMPLE)
    none = CooldownSnapshot()
    cooling = CooldownSnapshot(now=0.0, until={"vllm-a/Qwen/Qwen2.5-72B-Instruct": 30.0})
    cases = {
        "gpt-4o (1 deployment, 1 fallback chain)": ("gpt-4o", none),
        "qwen (alias, A/B split, 2 deployments, fallbacks)": ("qwen", none),
        "qwen, one deployment cooling": ("qwen", cooling),
    }
    for label, (model, snapshot) in cases.items():
        us = _per_call_us(lambda i, m=model, s=snapshot: pick(
            config, m, Caller(f"key_{i % 1000}", "T2"), s, request_id=f"req_{i}"), picks)
        print(f"pick  {label:52s} {us:7.1f} µs")
    load_ms = _per_call_us(lambda _: load_routing(EXAMPLE), 50) / 1000
    print(f"load  {'configs/routing.example.yml (YAML, schema, checks)':52s} {load_ms:7.2f} ms")


if __name__ == "__main__":
    main()
