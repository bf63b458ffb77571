"""Regular expressions that cannot hang a request.

Patterns are compiled with the `regex` library, whose matching takes a timeout: a search
over its budget raises TimeoutError (a detector failure, never a silent pass). At load,
every pattern also runs against inputs that make catastrophic backtracking show itself
(`(a+)+$` on a long run of one character); a pattern that needs more than its budget there
is refused with the file, so a slow pattern is found when the policy is written, not when
an attacker sends the input that triggers it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import TypeVar

import regex

from app.guardian.detectors import Hit

T = TypeVar("T")

SEARCH_TIMEOUT_S = 0.25  # per text, per rule: far above a sane pattern's cost
# The monotonic time by which the current scan must end, when its caller set one (a request's
# scan, within the lane's budget): each search's timeout is cut to what remains of it.
scan_deadline: ContextVar[float | None] = ContextVar("lukhas_guardian_scan_deadline",
                                                     default=None)


def search_timeout() -> float:
    """The timeout of one search: SEARCH_TIMEOUT_S, or less when the scan's deadline is near."""
    deadline = scan_deadline.get()
    if deadline is None:
        return SEARCH_TIMEOUT_S
    return max(min(SEARCH_TIMEOUT_S, deadline - time.monotonic()), 0.001)


def matches(pattern: regex.Pattern[str], text: str) -> list[regex.Match[str]]:
    """Every match of `pattern` in `text` within the search's timeout; TimeoutError past it."""
    return _unstarved(lambda timeout: list(pattern.finditer(text, timeout=timeout)),
                      search_timeout)


def _unstarved(search: Callable[[float], T], timeout: Callable[[], float]) -> T:
    """`search(timeout())`, run again when it timed out for want of a core.

    The timeout is wall-clock time (what `regex` measures), which a busy machine can spend
    while this thread waits for a core. A search that ran out of it having had the CPU for
    less than half of it was starved, not slow, and runs again (twice more at most, and
    never past the scan's deadline); a catastrophically backtracking one spends its time on
    the CPU and fails at once."""
    for attempt in range(3):
        limit = timeout()
        cpu = time.thread_time()
        try:
            return search(limit)
        except TimeoutError:
            deadline = scan_deadline.get()
            if (attempt == 2 or time.thread_time() - cpu >= limit / 2
                    or (deadline is not None and time.monotonic() >= deadline)):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


_PROBE_TIMEOUT_S = 0.5  # a catastrophic pattern takes seconds on these; a sane one, µs
_PROBES = tuple(
    body * n + tail
    for n in (64, 2048)
    for body, tail in (("a", "!"), ("aa ", "!"), ("1", "x"), (" ", "!"), ("a1", "\n"),
                       ("a@", "!"), ("ab", "\x00"), ("-", "a"), (".", " "))
)


class UnsafePattern(ValueError):
    """A pattern that does not compile, or that backtracks catastrophically."""


def compile_safe(patterns: Sequence[str], *, ignore_case: bool) -> regex.Pattern[str]:
    """One pattern that matches any of `patterns`; UnsafePattern names the first bad one."""
    flags = regex.VERSION0 | (regex.IGNORECASE if ignore_case else 0)
    for i, source in enumerate(patterns):
        try:
            one = regex.compile(source, flags)
        except regex.error as exc:
            raise UnsafePattern(f"patterns[{i}] does not compile: {exc}") from None
        if one.search(""):
            raise UnsafePattern(f"patterns[{i}] matches the empty text")
        for probe in _PROBES:
            if not _within_budget(one, probe):
                raise UnsafePattern(
                    f"patterns[{i}] backtracks catastrophically (over "
                    f"{_PROBE_TIMEOUT_S * 1000:.0f} ms on {len(probe)} characters); "
                    "remove nested repetition such as (a+)+")
    return regex.compile("|".join(f"(?:{p})" for p in patterns), flags)


def _within_budget(pattern: regex.Pattern[str], probe: str) -> bool:
    """Whether a search of `probe` ends within the probe's budget (a sane pattern needs
    microseconds; a catastrophic one runs out of it on the CPU, every time)."""
    try:
        _unstarved(lambda timeout: pattern.search(probe, timeout=timeout),
                   lambda: _PROBE_TIMEOUT_S)
    except TimeoutError:
        return False
    return True


def find_all(pattern: regex.Pattern[str], text: str, *, score: float,
             detector: str = "pattern", group: int | str = 0) -> Iterator[Hit]:
    """Every non-overlapping match (its `group` span); TimeoutError past the budget."""
    for m in matches(pattern, text):
        start, end = m.span(group)
        if end > start:
            yield Hit(start, end, score, detector)
