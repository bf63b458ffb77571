"""The Guardian's detectors: each finds spans in a text and says how sure it is (0..1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    score: float
    detector: str  # "pattern", "pii.email", "secrets.jwt", "injection"...
