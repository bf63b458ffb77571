"""Patterns: compiled safely, searched under a time budget."""

from __future__ import annotations

import pytest
import regex

from app.guardian.detectors.patterns import UnsafePattern, compile_safe, find_all


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
