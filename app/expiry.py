"""Dropping expired entries from the in-process stores that the tick sweeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def drop_expired(entries: dict[K, V], is_due: Callable[[V], bool]) -> int:
    """Delete the entries whose value `is_due`; return how many."""
    dead = [key for key, value in entries.items() if is_due(value)]
    for key in dead:
        del entries[key]
    return len(dead)
