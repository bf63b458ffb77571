"""Precision and recall per category of the default Guardian policy on the labelled set
(tests/guardian/data/moderation_eval.jsonl), as `/v1/moderations` judges each text.

Usage: python bench/guardian_eval.py [--errors]   (--errors also lists each miss and false flag)
"""

from __future__ import annotations

import asyncio
import sys
import time

from tests.guardian.evaluation import default_guardian, evaluate, load_examples, table


async def main(show_errors: bool) -> None:
    examples = load_examples()
    async with default_guardian() as guardian:
        await guardian.scan("warm up", direction="input")  # loads the embedding model
        started = time.perf_counter()
        report = await evaluate(guardian, examples)
        elapsed = time.perf_counter() - started
    sys.stdout.write(f"{len(examples)} texts, {elapsed / len(examples) * 1000:.1f} ms each\n")
    sys.stdout.write(table(report) + "\n")
    if show_errors:
        for category, text in report.missed:
            sys.stdout.write(f"missed {category:<24} {text!r}\n")
        for category, text in report.wrong:
            sys.stdout.write(f"wrong  {category:<24} {text!r}\n")


if __name__ == "__main__":
    asyncio.run(main("--errors" in sys.argv[1:]))
