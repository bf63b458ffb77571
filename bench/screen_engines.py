"""What the screen's sets of literals cost a request, by the engine finding them (RE2 or
Hyperscan) and by how they are laid out (app/guardian/detectors/screen.py), switched in one
process.

One app (the default policy without its semantic rules, as `default*` in
bench/guardian_overhead.py), driven in process on the embedded PostgreSQL, a new question
each request. The settings take turns every `--size` requests (the order reversed every
other batch): the Guardian out; the Guardian in, its policy's screens sharing one pair of
sets (as shipped) on RE2, then on Hyperscan; and on Hyperscan with a pair of sets for each
screen (each kind of text and direction, as before they were shared). The policy's screens
are built once for each and swapped in. Each setting's added CPU is the median of its
paired differences with the Guardian out in the same batch; the last lines compare the
settings with the shipped one (Hyperscan, shared) batch by batch.

The engines differ most while the host's other tenants push the screen's tables out of the
last-level cache (docs/guardian-enforcement.md): a run's figures depend on the phase it
meets, the ratios within one run do not.

Usage: PYTHONPATH=. python bench/screen_engines.py [BATCHES] [--size N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
from typing import Any

from app.guardian.detectors.screen import ENGINES, Literals, Screen
from bench.asgi_overhead import call
from bench.guardian_overhead import KEY, QUESTION, _guardian_switch, fresh, take_turns
from bench.guardian_parts import bench_app


def _layouts(app: Any) -> dict[str, Any]:
    """A function for each setting swapping the started app's policy screens for ones built
    so: on each engine with shared sets, and on the last one with sets of their own."""
    policy = app.state.lukhas.guardian.policy

    def screens(engine: str, shared: bool) -> dict[Any, Screen[Any]]:
        literals = Literals(engine) if shared else None  # type: ignore[arg-type]
        made = {key: Screen(((r, r.source) for r in policy._index[(*key, False)]),
                            engine, literals)  # type: ignore[arg-type]
                for key in policy._screens}
        if literals is not None:
            literals.bind(made.values())
        return made
    built = {engine: screens(engine, True) for engine in ENGINES}
    built[f"{ENGINES[-1]}, a set per screen"] = screens(ENGINES[-1], False)
    return {name: (lambda made=made: policy._screens.update(made))
            for name, made in built.items()}


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
        layouts = _layouts(app)
        settings = ["off", *layouts]
        for _ in range(300):
            await call(app, "POST", "/v1/responses", fresh(QUESTION), KEY)

        def put(setting: str) -> None:
            switch(setting != "off")
            if setting != "off":
                layouts[setting]()
        cpu = await take_turns(app, {s: functools.partial(put, s) for s in settings},
                               args.batches, args.size)
        print(f"/v1/responses store=false, a new question each request, {args.batches} batches "
              f"of {args.size} requests a setting")
        for setting, values in cpu.items():
            added = [b - a for a, b in zip(cpu["off"], values, strict=True)]
            print(f"Guardian {'out' if setting == 'off' else 'in, ' + setting:34s}"
                  f" {statistics.median(values):7.1f} µs/request  added {_spread(added)}")
        shipped = ENGINES[-1]
        for setting in settings[1:]:
            if setting != shipped:
                gaps = [b - a for a, b in zip(cpu[setting], cpu[shipped], strict=True)]
                print(f"{shipped} (shared) against {setting}: {_spread(gaps)}, mean "
                      f"{statistics.mean(gaps):+.1f} µs")


if __name__ == "__main__":
    asyncio.run(main())
