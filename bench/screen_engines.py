"""What the engine finding the screen's sets of literals costs a request: RE2 or Hyperscan
(app/guardian/detectors/screen.py), switched in one process.

One app (the default policy without its semantic rules, as `default*` in
bench/guardian_overhead.py), driven in process on the embedded PostgreSQL, a new question
each request. Three settings take turns every `--size` requests (the order reversed every
other batch): the Guardian out, the Guardian in with its policy's screens on RE2, the same
screens on Hyperscan (the policy's screens built twice, once on each engine, and swapped
in). Each setting's added CPU is the median of its paired differences with the Guardian
out in the same batch; the last line compares the two engines batch by batch.

The engines differ most while the host's other tenants push the screen's tables out of the
last-level cache (docs/guardian-enforcement.md): a run's figures depend on the phase it
meets, the ratios within one run do not.

Usage: PYTHONPATH=. python bench/screen_engines.py [BATCHES] [--size N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from app.guardian.detectors.screen import ENGINES, Screen
from bench.asgi_overhead import call
from bench.guardian_overhead import KEY, QUESTION, _drain, _guardian_switch, fresh
from bench.guardian_parts import bench_app


def _screens_on(app: Any) -> dict[str, Any]:
    """A function for each engine swapping the started app's policy screens for ones built
    on it."""
    policy = app.state.lukhas.guardian.policy
    built = {engine: {key: Screen(((r, r.source) for r in policy._index[(*key, False)]),
                                  engine)
                      for key in policy._screens}
             for engine in ENGINES}

    def use(engine: str) -> None:
        policy._screens.update(built[engine])
    return {engine: (lambda engine=engine: use(engine)) for engine in ENGINES}


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"{statistics.median(ordered):+6.1f} µs (p25 {ordered[len(ordered) // 4]:+6.1f}, "
            f"p75 {ordered[len(ordered) * 3 // 4]:+6.1f})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("batches", type=int, nargs="?", default=100)
    parser.add_argument("--size", type=int, default=20)
    args = parser.parse_args()
    async with bench_app() as app:
        switch = _guardian_switch(app)
        engines = _screens_on(app)
        settings = ["off", *engines]
        for _ in range(300):
            await call(app, "POST", "/v1/responses", fresh(QUESTION), KEY)
        cpu: dict[str, list[float]] = {s: [] for s in settings}
        for i in range(args.batches):
            for setting in (settings if i % 2 == 0 else settings[::-1]):
                switch(setting != "off")
                if setting != "off":
                    engines[setting]()
                for _ in range(3):  # the middleware stack is built again outside the clock
                    await call(app, "POST", "/v1/responses", fresh(QUESTION), KEY)
                started = time.process_time()
                for _ in range(args.size):
                    await call(app, "POST", "/v1/responses", fresh(QUESTION), KEY)
                await _drain(app)
                cpu[setting].append((time.process_time() - started) / args.size * 1e6)
        print(f"/v1/responses store=false, a new question each request, {args.batches} batches "
              f"of {args.size} requests a setting")
        for setting, values in cpu.items():
            added = [b - a for a, b in zip(cpu["off"], values, strict=True)]
            print(f"Guardian {'out' if setting == 'off' else 'in, screens on ' + setting:25s}"
                  f" {statistics.median(values):7.1f} µs/request  added {_spread(added)}")
        if len(engines) == 2:
            gaps = [b - a for a, b in zip(cpu["re2"], cpu["hyperscan"], strict=True)]
            print(f"hyperscan against re2: {_spread(gaps)}, mean {statistics.mean(gaps):+.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
