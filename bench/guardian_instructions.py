"""What the Guardian costs a request in CPU instructions, counted by callgrind: the same
figure on a quiet machine and a busy one, where CPU time (bench/guardian_overhead.py) moves
by tens of percent with a shared machine's load.

The setting of bench/guardian_parts.py (`/v1/responses`, `store: false`, a new question
each request, the default policy without its semantic rules, driven in process on the
embedded PostgreSQL), switched every `--requests` requests between the Guardian out and in,
and, with `--parts`, its request check alone and its output check alone; the order reversed
every other round. Run as `python bench/guardian_instructions.py`: it starts itself again
under `valgrind --tool=callgrind --cache-sim=yes`, with instrumentation only from the end
of the warm-up, and dumps the counts (`callgrind_control -d`) around each batch. Printed,
per setting, the medians over the rounds of instructions per request and of the cycles
callgrind estimates from its simulated caches (instructions + 10 × first-level misses +
100 × last-level misses), each beside the Guardian-out figure.

Under valgrind the clock runs some fifty times slower: the tick, the policy's reload poll
and the kill switch's read-again interval are set to an hour, so that they do not run more
often per request than they would.

Usage: .venv/bin/python bench/guardian_instructions.py [--rounds 3] [--requests 40] [--parts]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Setting = tuple[bool, bool]  # (request check, output check)
NAMES: dict[Setting, str] = {(False, False): "out", (True, True): "in",
                             (True, False): "request check", (False, True): "output check"}


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def measured(args: argparse.Namespace) -> list[str]:
    """Inside valgrind: each setting's batches between two dumps; their settings, in order."""
    from app.guardian import kill_switch
    from bench.asgi_overhead import call
    from bench.guardian_overhead import KEY, _guardian_switch, fresh
    from bench.guardian_parts import bench_app

    kill_switch.CACHE_SECONDS = 3600.0
    settings = list(NAMES) if args.parts else [(False, False), (True, True)]
    done: list[str] = []
    async with bench_app(tick_hz=1 / 3600, guardian_reload_seconds=3600,
                         routing_reload_seconds=3600) as app:
        switch = _guardian_switch(app)
        for _ in range(100):
            await call(app, "POST", "/v1/responses", fresh(), KEY)
        _control("-i", "on")
        for i in range(args.rounds):
            for setting in (settings if i % 2 == 0 else settings[::-1]):
                switch(*setting)
                for _ in range(3):  # the middleware stack is built again here
                    await call(app, "POST", "/v1/responses", fresh(), KEY)
                _control("-d")  # what came before the batch is not counted
                for _ in range(args.requests):
                    status, out = await call(app, "POST", "/v1/responses", fresh(), KEY)
                    assert status == 200, out
                _control("-d")
                done.append(NAMES[setting])
    return done


def _totals(path: Path) -> dict[str, int]:
    events: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith(("summary:", "totals:")):
            return dict(zip(events, map(int, line.split()[1:]), strict=True))
    raise RuntimeError(f"no totals in {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--parts", action="store_true")
    parser.add_argument("--ll", type=int, metavar="BYTES",
                        help="the last-level cache simulated (callgrind's --LL, 16-way)")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        (args.inside / "order.txt").write_text("\n".join(asyncio.run(measured(args))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--cache-sim=yes",
             *([f"--LL={args.ll},16,64"] if args.ll else []),
             f"--callgrind-out-file={out}/cg.out", sys.executable, __file__,
             "--rounds", str(args.rounds), "--requests", str(args.requests),
             *(["--parts"] if args.parts else []), "--inside", str(out)],
            check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        # Dumps are numbered in order; every other one holds a batch (the one before it,
        # what came before the batch).
        dumps = sorted(out.glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))[1::2]
        names = (out / "order.txt").read_text().split("\n")
        per: dict[str, list[tuple[float, float]]] = {}
        for name, dump in zip(names, dumps, strict=True):
            t = _totals(dump)
            cycles = (t["Ir"] + 10 * (t["I1mr"] + t["D1mr"] + t["D1mw"])
                      + 100 * (t["ILmr"] + t["DLmr"] + t["DLmw"]))
            per.setdefault(name, []).append((t["Ir"] / args.requests,
                                             cycles / args.requests))
    base_ir = statistics.median(x[0] for x in per["out"])
    base_cycles = statistics.median(x[1] for x in per["out"])
    print(f"/v1/responses store=false, a new question each request; {args.rounds} rounds of "
          f"{args.requests} requests a setting (medians)")
    for name, values in per.items():
        ir = statistics.median(x[0] for x in values)
        cycles = statistics.median(x[1] for x in values)
        print(f"Guardian {name:<14} {ir / 1e6:6.3f} M instructions/request "
              f"({(ir - base_ir) / base_ir:+6.1%}), {cycles / 1e6:6.3f} M estimated cycles "
              f"({(cycles - base_cycles) / base_cycles:+6.1%})")


if __name__ == "__main__":
    main()
