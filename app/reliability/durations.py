"""Durations written as OpenAI's rate-limit headers write them (Go style: `1s`, `6m0s`, `12ms`)."""

from __future__ import annotations

import math


def go_duration(seconds: float) -> str:
    """`0.012` → `12ms`, `1` → `1s`, `360` → `6m0s`, `3723.5` → `1h2m3.5s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    seconds = math.ceil(seconds * 1000) / 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text
