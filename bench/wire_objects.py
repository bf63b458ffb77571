"""CPU to build and write what `/v1/responses` answers: one Response object (JSON), one
streamed answer's events (SSE frames), and orjson on a dataclass with and without `slots`.

No app, no database: the service's own builders, timed with this process's CPU clock, the
median of 7 rounds.

Usage: python bench/wire_objects.py [N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson

from app.api.responses import service
from app.api.responses.events import OutputBuilder, StreamEncoder
from app.api.responses.protocol import ResponseCreateRequest
from app.matriz.contract import ReasoningDelta, TextDelta
from app.sse import named_frames

REQUEST = ResponseCreateRequest(model="lukhas-matriz", input="What is 2+2?", store=False)
RUN = SimpleNamespace(finish_reason="stop", usage=SimpleNamespace(
    input_tokens=12, output_tokens=9, reasoning_tokens=4, cached_tokens=0))


def response_json() -> bytes:
    """A create's answer: the response started, its output built, ended, written."""
    base = service._base_object("resp_1", REQUEST, None)
    builder = OutputBuilder()
    builder.on_reasoning(ReasoningDelta("2 + 2 = 4, checked."))
    builder.on_text(TextDelta("2 + 2 = 4."))
    return orjson.dumps(service._final(base, RUN, builder))  # type: ignore[arg-type]


def response_events() -> bytes:
    """A streamed create's frames: created, in progress, reasoning, two text deltas, done."""
    base = service._base_object("resp_1", REQUEST, None)
    builder = OutputBuilder()
    encoder = StreamEncoder(builder)
    frames = [named_frames(encoder.start(base)),
              named_frames(encoder.on_reasoning(ReasoningDelta("2 + 2 = 4, checked.")))]
    frames += [named_frames(encoder.on_text(TextDelta(piece))) for piece in ("2 + 2", " = 4.")]
    final = service._final(base, RUN, builder)  # type: ignore[arg-type]
    frames.append(named_frames(encoder.finish(final)))
    return b"".join(frames)


@dataclass(slots=True)
class _Slotted:
    a: int = 1
    b: str = "x"
    c: list[Any] = field(default_factory=list)
    d: dict[str, Any] = field(default_factory=dict)
    e: float = 1.0
    f: None = None


@dataclass
class _Plain:
    a: int = 1
    b: str = "x"
    c: list[Any] = field(default_factory=list)
    d: dict[str, Any] = field(default_factory=dict)
    e: float = 1.0
    f: None = None


def cost(work: Callable[[], Any], n: int) -> float:
    """µs of CPU per call: the median of 7 rounds of `n` calls."""
    rounds = []
    for _ in range(7):
        started = time.process_time()
        for _ in range(n):
            work()
        rounds.append((time.process_time() - started) / n * 1e6)
    return statistics.median(rounds)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    slotted, plain = _Slotted(), _Plain()
    cases: list[tuple[str, Callable[[], Any], int]] = [
        (f"Response object, JSON ({len(response_json())} B)", response_json, n),
        (f"streamed answer, SSE ({len(response_events())} B)", response_events, n),
        ("orjson, dataclass with slots", lambda: orjson.dumps(slotted), n * 10),
        ("orjson, dataclass with __dict__", lambda: orjson.dumps(plain), n * 10),
    ]
    for name, work, count in cases:
        print(f"{name:<40} {cost(work, count):7.2f} µs")


if __name__ == "__main__":
    main()
