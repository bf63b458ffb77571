"""Patterns: compiled safely, searched under a time budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import regex

from app.guardian.detectors.patterns import (
    UnsafePattern,
    compile_safe,
    find_all,
    matches,
    scan_deadline,
)


@pytest.mark.parametrize(("pattern", "why"), [
    (r"(a+)+$", "backtracks"),
    (r"(\w+\s?)+$", "backtracks"),
    (r"(a|aa)+c", "backtracks"),
    (r"x*", "empty"),
    (r"(unclosed", "compile"),
])
def test_unsafe_patterns_are_refused(pattern: str, why: str) -> None:
    with pytest.raises(UnsafePattern, match=why):
        compile_safe([r"\bok\b", pattern], ignore_case=True)


def test_the_refusal_names_the_pattern() -> None:
    with pytest.raises(UnsafePattern, match=r"patterns\[1\]"):
        compile_safe([r"\bok\b", r"(a+)+$"], ignore_case=False)


def test_matches_of_any_pattern_with_spans() -> None:
    pattern = compile_safe([r"\bkill(?:ed)? you\b", r"\bsecret plan\b"], ignore_case=True)
    text = "The SECRET PLAN: I killed you in the story."
    assert [(h.start, h.end) for h in find_all(pattern, text, score=0.8)] == [(4, 15), (19, 29)]


def test_a_search_over_its_budget_raises() -> None:
    # Slow only on runs of x, which the load-time probes do not try: the budget is the
    # backstop for what probing misses.
    pattern = compile_safe([r"(x+x+)+y"], ignore_case=False)
    with pytest.raises(TimeoutError):
        list(find_all(pattern, "x" * 5000, score=1.0))
    assert isinstance(pattern, regex.Pattern)


class _Searches:
    """A compiled pattern whose first `starved` searches time out without using the CPU, as on
    a machine too busy to run them (the time passes asleep), and whose searches after those
    time out on the CPU when `slow`, as a backtracking one does; it counts the searches."""

    def __init__(self, pattern: regex.Pattern[str], starved: int, slow: bool) -> None:
        self.pattern, self.starved, self.slow, self.calls = pattern, starved, slow, 0

    def finditer(self, text: str, timeout: float) -> Iterator[regex.Match[str]]:
        self.calls += 1
        if self.calls <= self.starved:
            time.sleep(timeout)
            raise TimeoutError("regex timed out")
        if self.slow:
            end = time.thread_time() + timeout
            while time.thread_time() < end:
                pass
            raise TimeoutError("regex timed out")
        return self.pattern.finditer(text, timeout=timeout)


def _searches(pattern: str, starved: int, *, slow: bool = False) -> Any:
    return _Searches(compile_safe([pattern], ignore_case=False), starved, slow)


def test_a_starved_search_runs_again() -> None:
    searches = _searches(r"\d+", starved=2)
    assert [m.group() for m in matches(searches, "call 911 or 112")] == ["911", "112"]
    assert searches.calls == 3


def test_a_search_starved_three_times_fails() -> None:
    searches = _searches(r"\d+", starved=3)
    with pytest.raises(TimeoutError):
        matches(searches, "call 911")
    assert searches.calls == 3


def test_a_slow_search_fails_at_once() -> None:
    # It spends its time on the CPU: no second try.
    searches = _searches(r"x+y", starved=0, slow=True)
    with pytest.raises(TimeoutError):
        matches(searches, "x" * 5000)
    assert searches.calls == 1


def test_a_slow_search_after_a_starved_one_fails() -> None:
    searches = _searches(r"x+y", starved=1, slow=True)
    with pytest.raises(TimeoutError):
        matches(searches, "x" * 5000)
    assert searches.calls == 2


def test_no_second_try_past_the_scans_deadline() -> None:
    searches = _searches(r"\d+", starved=3)
    token = scan_deadline.set(time.monotonic() + 0.01)
    try:
        with pytest.raises(TimeoutError):
            matches(searches, "call 911")
    finally:
        scan_deadline.reset(token)
    assert searches.calls == 1
