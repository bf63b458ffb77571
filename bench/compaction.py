"""The cost of built-in compaction, without the network or the database.

For chains of growing length, prints the µs to compact one (split, summarise, seal), the µs
to open its compaction item again and expand a new response's input from the window, and
the size of the item's `encrypted_content`.

Usage: python bench/compaction.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time

from app.api.responses.compact import _kept_items, expand_input
from app.api.responses.protocol import CompactionItem, MessageItem
from app.core.turns import Turn
from app.identity.seal import Seal
from app.memory.compaction import Window, WindowSeal, context_text, describe, keep_statements

OWNER = "bench-owner"


def chain(turns: int) -> list[Turn]:
    """User and assistant turns, one user statement in ten."""
    out = []
    for i in range(turns // 2):
        said = (f"My favourite number is {i}." if i % 5 == 0
                else f"Tell me something about topic {i} in a few sentences please.")
        out.append(Turn("user", said, f"resp_{i} input 1"))
        out.append(Turn("assistant", f"Here is what I know about topic {i}: not much, sadly.",
                        f"resp_{i} output"))
    return out


def compact(seal: WindowSeal, turns: list[Turn]) -> tuple[list[dict[str, object]], str]:
    kept, dropped = keep_statements(turns)
    items, records = _kept_items(kept)
    window = Window("cmp_bench", "lukhas-matriz", 0, context_text(None, describe(
        dropped, "lukhas-matriz")), tuple(records))
    content = seal.seal(OWNER, window)
    return [i.model_dump(exclude_none=True) for i in items], content


def timed(fn: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    seal = WindowSeal(Seal("bench key material, thirty-two bytes or more"))
    print(f"{'turns':>6} {'compact µs':>11} {'expand µs':>10} {'item bytes':>11} {'kept':>5}")
    for n in (20, 200, 2000):
        turns = chain(n)
        items, content = compact(seal, turns)
        given = [*[MessageItem.model_validate(i) for i in items],
                 CompactionItem(type="compaction", encrypted_content=content),
                 MessageItem(role="user", content="What is my favourite number?")]
        compact_us = timed(lambda turns=turns: compact(seal, turns), repeats)
        expand_us = timed(lambda given=given: expand_input(given, OWNER, seal), repeats)
        print(f"{n:>6} {compact_us:>11.0f} {expand_us:>10.0f} {len(content):>11} "
              f"{len(items):>5}")


if __name__ == "__main__":
    main()
