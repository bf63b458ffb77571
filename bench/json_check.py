"""What the request value check costs beside parsing the same body.

For a few request bodies (documents with vectors, a long text, many embedding inputs),
prints the time of `json.loads` (what Starlette does), of `app.json.loads` and of
`app.json.check_value`, median of several runs.

Usage: python bench/json_check.py [RUNS]
"""

from __future__ import annotations

import json
import sys
from functools import partial
from typing import Any

from app.json import check_value, loads
from bench.timing import median_ms

BODIES: dict[str, Any] = {
    "1000 documents x 384-float vectors": {"documents": [
        {"text": f"document {i}", "vector": [0.123456] * 384, "metadata": {"k": "v"}}
        for i in range(1000)]},
    "1 MB of input text": {"model": "lukhas-matriz", "input": "lorem ipsum dolor " * 60_000},
    "2048 embedding inputs": {"model": "lukhas-hash-v1", "input": ["some text to embed"] * 2048},
    "a chat with 100 messages": {"model": "lukhas-matriz", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "héllo wörld " * 20}]}] * 100},
}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    out = sys.stdout
    out.write(f"{'body':38} {'bytes':>10} {'json.loads':>11} {'loads':>8} {'check':>8}\n")
    for name, body in BODIES.items():
        raw = json.dumps(body).encode()
        parsed = loads(raw)
        out.write(f"{name:38} {len(raw):>10,} "
                  f"{median_ms(partial(json.loads, raw), runs):>8.2f} ms "
                  f"{median_ms(partial(loads, raw), runs):>5.2f} ms "
                  f"{median_ms(partial(check_value, parsed), runs):>5.2f} ms\n")


if __name__ == "__main__":
    main()
