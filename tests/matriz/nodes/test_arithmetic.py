"""The arithmetic node: natural phrasing, exact results, and cheap refusals of hostile input."""

from __future__ import annotations

import ast
import re
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.matriz.nodes import arithmetic
from app.matriz.nodes.arithmetic import evaluate, exact, find_expression, render, solve
from app.matriz.nodes.types import Calculation


@pytest.mark.parametrize(
    ("message", "expected", "shown"),
    [
        ("What is 2+2?", 4, "2 + 2 = 4."),
        ("Compute (17*3)-4", 47, "17 * 3 - 4 = 47."),
        ("what's 3 times 4", 12, "3 * 4 = 12."),
        ("7 divided by 2", Fraction(7, 2), "7 / 2 = 3.5."),
        ("5 plus 6 minus 1", 10, "5 + 6 - 1 = 10."),
        ("2 to the power of 10", 1024, "2 ** 10 = 1024."),
        ("calculate 12 % 5", 2, "12 % 5 = 2."),
        ("What is 3 × 4 ÷ 2 − 1?", 5, "3 * 4 / 2 - 1 = 5."),
        ("What is 6 multiplied by 7?", 42, "6 * 7 = 42."),
        ("what is 5 squared?", 25, "5 ** 2 = 25."),
        ("what is 2^8?", 256, "2 ** 8 = 256."),
        ("What is 1,000,000 / 4?", 250000, "1000000 / 4 = 250000."),
        ("What is 10 mod 4?", 2, "10 % 4 = 2."),
        ("What's 2 - -3?", 5, "2 - -3 = 5."),
        ("What is 7 // 2?", 3, "7 // 2 = 3."),
        ("(what is 2+2)", 4, "2 + 2 = 4."),
        ("What is 15% of 200?", 30, "15 / 100 * 200 = 30."),
        ("What is 12 percent of 50?", 6, "12 / 100 * 50 = 6."),
    ],
)
def test_natural_phrasing(message: str, expected: Fraction | int, shown: str) -> None:
    calc = solve(message)
    assert calc.status == "ok", calc.notes
    assert calc.value == expected
    assert calc.text == shown


def test_decimals_are_exact() -> None:
    calc = solve("What is 0.1+0.2?")
    assert calc.value == Fraction(3, 10)
    assert calc.text == "0.1 + 0.2 = 0.3."
    assert solve("1.5 * 4").text == "1.5 * 4 = 6."


def test_repeating_decimal_is_rounded_and_says_so() -> None:
    calc = solve("What is 1/3?")
    assert calc.value == Fraction(1, 3)
    assert calc.rendered == "0.333333333333"
    assert calc.text == "1 / 3 ≈ 0.333333333333 (exactly 1/3)."


def test_summary_shows_parse_and_result() -> None:
    assert solve("What is 2+2?").notes == (
        "arithmetic: parsed '2+2' as (2 + 2)",
        "arithmetic: evaluated exactly: 4",
    )
    assert "as ((17 * 3) - 4)" in solve("(17*3)-4").notes[0]


@pytest.mark.parametrize("message", ["What is 1/0?", "5 % 0", "7 // 0", "0 ** -1", "1/(2-2)"])
def test_division_by_zero_is_a_sentence(message: str) -> None:
    calc = solve(message)
    assert calc.status == "undefined"
    assert calc.text.startswith("Division by zero is undefined, so ")
    assert calc.text.endswith(" has no value.")


def test_division_by_zero_wording() -> None:
    assert solve("What is 1/0?").text == "Division by zero is undefined, so 1/0 has no value."


@pytest.mark.parametrize(
    "message",
    [
        "What is my name?",
        "What is 42?",
        "I have 3 apples and 4 pears.",
        "Solve 2x+3=7",
        "What is -5?",
        "",
        "Call me at 10 tomorrow",
        "What happened in 1939–1945?",  # an en dash marks a range, not a subtraction
    ],
)
def test_no_calculation(message: str) -> None:
    assert solve(message).status == "none"


def test_garbled_expression_is_unreadable_not_an_error() -> None:
    calc = solve("What is 2 +* 3?")
    assert calc.status == "unreadable"
    assert calc.found == "2 +* 3"


@pytest.mark.parametrize(
    ("message", "expected", "exact"),
    [
        ("8 ** (1/3)", Fraction(2), True),
        ("(-8) ** (1/3)", Fraction(-2), True),
        ("(9/4) ** 0.5", Fraction(3, 2), True),
        ("2 ** -2", Fraction(1, 4), True),
        ("2 ** 0.5", Fraction(2**0.5), False),
        ("10 ** 2.5", Fraction(10**2.5), False),
    ],
)
def test_powers(message: str, expected: Fraction, exact: bool) -> None:
    calc = solve(message)
    assert calc.status == "ok"
    assert calc.approximate is not exact
    assert calc.value is not None
    if exact:
        assert calc.value == expected
    else:
        assert abs(calc.value - expected) <= abs(expected) * Fraction(1, 10**12)
        assert calc.text.startswith(f"{calc.expression} ≈ ")


def test_even_root_of_negative_has_no_real_value() -> None:
    calc = solve("(-4) ** 0.5")
    assert calc.status == "undefined"
    assert "no real value" in calc.text


def _in_thread(message: str) -> Calculation:
    """Run solve() in a thread so a hang fails the test instead of stalling the suite."""
    results: list[Calculation] = []
    worker = threading.Thread(target=lambda: results.append(solve(message)), daemon=True)
    worker.start()
    worker.join(timeout=1.0)
    assert not worker.is_alive(), f"solve() still running for {message[:40]!r}"
    return results[0]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("What is 9**9**9?", "digits"),
        ("What is 2**100000?", "30,102 digits"),
        ("What is " + "(" * 500 + "1" + ")" * 500 + "?", "1,001 characters"),
        ("(" * 150 + "1+1" + ")" * 150, "nested 150 parentheses deep"),
        ("-" * 300 + "1+1", "too complex"),
        ("1+" * 240 + "1", "too complex"),
        ("1" * 300 + " + " + "2" * 300, "characters"),
        ("(2**3999)*(2**3999)", "intermediate result"),
        ("(1/3) ** 5000", "digits"),
        ("2 ** 10000.5", "too large"),
        ("2 ** 2 ** 70", "astronomical"),
    ],
)
def test_hostile_input_is_refused_quickly(message: str, reason: str) -> None:
    calc = _in_thread(message)
    assert calc.status == "refused", calc.notes
    assert reason in calc.text
    assert calc.text.startswith("I won't evaluate that expression: ")


def test_huge_message_does_not_hang() -> None:
    calc = _in_thread("(" * 100_000 + "1+1")
    assert calc.status == "refused"


def test_bases_one_zero_and_minus_one_need_no_limit() -> None:
    assert solve("1 ** 99999999999").value == 1
    assert solve("(-1) ** 99999999999").value == -1
    assert solve("0 ** 99999999999").value == 0


def test_large_but_allowed_results_are_exact() -> None:
    calc = solve("2 ** 1000")
    assert calc.status == "ok"
    assert calc.rendered == str(2**1000)


@pytest.mark.parametrize(
    ("value", "text", "exact"),
    [
        (Fraction(4), "4", True),
        (Fraction(-7, 2), "-3.5", True),
        (Fraction(1, 8), "0.125", True),
        (Fraction(2, 3), "0.666666666667", False),
        (Fraction(10**20, 3), "3.33333333333e+19", False),
        (Fraction(1, 10**9), "1e-9", True),
    ],
)
def test_render(value: Fraction, text: str, exact: bool) -> None:
    assert render(value) == (text, exact)


def test_find_expression_keeps_the_longest_calculation() -> None:
    assert find_expression("Is it 1+1 or 12 * 3 + 4?") == "12 * 3 + 4"
    assert find_expression("What is 2+2.") == "2+2"


# An expression and its exact value (None when it divides by zero), built side by side.
_NUMBERS = st.integers(0, 50).map(lambda n: (str(n), Fraction(n))) | st.sampled_from(
    [("0.5", Fraction(1, 2)), ("1.25", Fraction(5, 4)), ("0.1", Fraction(1, 10))]
)


def _combine(pair: tuple[tuple[str, Fraction | None], str, tuple[str, Fraction | None]]) -> tuple[
    str, Fraction | None
]:
    (left, a), op, (right, b) = pair
    text = f"({left}) {op} ({right})"
    if a is None or b is None:
        return text, None
    if op in "/%" or op == "//":
        if b == 0:
            return text, None
        return text, {"/": a / b, "//": Fraction(a // b), "%": a % b}[op]
    return text, {"+": a + b, "-": a - b, "*": a * b}[op]


_EXPRESSIONS = st.recursive(
    _NUMBERS,
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%"]), inner).map(
        _combine
    ),
    max_leaves=12,
)


@settings(max_examples=150, database=None, deadline=None)
@given(_EXPRESSIONS)
def test_matches_exact_reference(case: tuple[str, Fraction | None]) -> None:
    text, expected = case
    calc = evaluate(text)
    if expected is None:
        assert calc.status == "undefined"
    elif calc.status == "ok":
        assert calc.value == expected
    else:  # a lone number in parentheses is not a calculation
        assert calc.status == "none"


@settings(max_examples=200, database=None, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789.+-*/%() x^eabc,?"), max_size=60))
def test_never_raises(message: str) -> None:
    calc = solve(message)
    assert calc.status in ("none", "unreadable", "refused", "undefined", "ok")


def test_source_never_evaluates_code() -> None:
    """The nodes walk the AST themselves: no eval, exec or compile anywhere."""
    folder = Path(arithmetic.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"eval", "exec", "compile"}, path.name


@pytest.mark.parametrize("message", [
    "Name three prime numbers greater than ten.", "What is my favourite colour?",
    "two plus two times three over four", "x times y divided by z, minus negative q",
    "five squared", "Five CUBED plus one", "what is 7 x 6?", "3 to the 4th power",
    "١٢ + ٣", "half of it, percent of nothing", "(a+b)*(c-d)", "",
])
def test_the_digit_gate_changes_no_answer(message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    gated = arithmetic.find_expression(message)
    monkeypatch.setattr(arithmetic, "_MAY_HOLD_ARITHMETIC", re.compile(""))
    assert arithmetic.find_expression(message) == gated


_WORDS_AROUND = ["what", "is", "plus", "minus", "times", "over", "negative", "squared",
                 "cubed", "x", "(", ")", "+", "*", "/", "%", "^", "−", "÷", "percent", "of",
                 "to", "the", "power", "raised", "mod", "4th", "seven", ",", ".", "?", "Ⅻ"]


@given(st.lists(st.sampled_from(_WORDS_AROUND), max_size=12).map(" ".join))
@settings(max_examples=300, deadline=None)
def test_the_digit_gate_changes_no_answer_without_digits(message: str) -> None:
    gated = arithmetic.find_expression(message)
    saved = arithmetic._MAY_HOLD_ARITHMETIC
    arithmetic._MAY_HOLD_ARITHMETIC = re.compile("")
    try:
        assert arithmetic.find_expression(message) == gated
    finally:
        arithmetic._MAY_HOLD_ARITHMETIC = saved


@pytest.mark.parametrize("number", ["0", "7", "0042", "12345678901234567890123", "0.1", "1e3",
                                    "2.50", "-5", "1_000"])
def test_a_number_reads_as_fractions_reads_it(number: str) -> None:
    assert exact(number) == Fraction(number)


def test_a_digit_that_is_not_ascii_is_not_a_number() -> None:
    with pytest.raises(ValueError):
        exact("²")
