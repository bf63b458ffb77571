"""The reasoner end to end: node choice, validation gating, and honest "I don't know"s."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.turns import Turn
from app.matriz.nodes import Answer, arithmetic, reason, recall
from app.matriz.nodes.types import Calculation, Finding, Recollection
from app.matriz.nodes.validation import recompute, validate_calculation, validate_recollection

HISTORY = [
    Turn("user", "Hi! My name is Ada Lovelace.", "resp_8f3a/input 1"),
    Turn("assistant", "Hello Ada! My favourite colour is red.", "resp_8f3a/output 1"),
    Turn("user", "I live in London.", "input 2"),
    Turn("assistant", "London is lovely.", "resp_9b1c/output 1"),
    Turn("user", "Thanks.", "input 3"),
]


def test_arithmetic_answer() -> None:
    answer = reason("What is 2+2?", HISTORY)
    assert answer == Answer(
        "2 + 2 = 4.",
        (
            "arithmetic: parsed '2+2' as (2 + 2)",
            "arithmetic: evaluated exactly: 4",
            "validation: independent re-evaluation agrees (4)",
        ),
        "arithmetic",
        (),
        Finding(Fraction(4), "4", "2 + 2"),
    )


def test_division_by_zero_answer() -> None:
    answer = reason("What is 1/0?", [])
    assert answer.node == "arithmetic"
    assert answer.text == "Division by zero is undefined, so 1/0 has no value."
    assert answer.summary[-1].startswith("validation: independent re-evaluation also finds no")


def test_refusal_is_an_arithmetic_answer() -> None:
    answer = reason("What is 9**9**9?", [])
    assert answer.node == "arithmetic"
    assert answer.text.startswith("I won't evaluate that expression")
    assert answer.citations == ()


def test_recall_answer() -> None:
    answer = reason("What is my name?", HISTORY)
    assert answer.node == "recall"
    assert answer.text == (
        'Your name is Ada Lovelace. You told me: "My name is Ada Lovelace." [resp_8f3a/input 1]'
    )
    assert answer.citations == ("resp_8f3a/input 1",)
    assert answer.summary[0] == "arithmetic: no arithmetic expression in the message"
    assert answer.summary[-1].startswith("validation: the quote appears verbatim in")


def test_unknown_names_the_topic_and_counts_user_turns() -> None:
    answer = reason("What is my favourite colour?", HISTORY)
    assert answer.node == "unknown"
    assert answer.citations == ()
    assert answer.text == (
        "I don't know. I looked for an arithmetic expression in your message and found none, "
        "and I searched your 3 earlier messages in our conversation for a statement about "
        '"your favourite colour" but found nothing.'
    )
    assert "red" not in answer.text  # the assistant's colour is not the user's


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("Where do I work?", HISTORY, "a statement about where you work"),
        ("What is my name?", [], "no earlier message from you"),
        ("What is the capital of France?", HISTORY, "your 3 earlier messages"),
        ("What is 2 +* 3?", HISTORY, 'I found "2 +* 3" in your message but could not read it'),
        ("Who am I?", [*HISTORY[:1], Turn("user", "bye", "input 9")], None),
    ],
)
def test_unknown_is_specific(question: str, history: list[Turn], expected: str | None) -> None:
    answer = reason(question, history)
    if expected is None:  # "who am I?" is answered by the stated name
        assert answer.node == "recall"
        return
    assert answer.node == "unknown"
    assert answer.text.startswith("I don't know. ")
    assert expected in answer.text
    assert answer.summary[-1].startswith("unknown:")


def test_wrong_arithmetic_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    real = arithmetic.solve

    def wrong(message: str) -> Calculation:
        calc = real(message)
        return dataclasses.replace(calc, value=Fraction(5), rendered="5", text="2 + 2 = 5.")

    monkeypatch.setattr(arithmetic, "solve", wrong)
    answer = reason("What is 2+2?", [])
    assert answer.node == "unknown"
    assert "5" not in answer.text
    assert "independent re-check did not confirm" in answer.text
    assert any("disagreement" in line for line in answer.summary)


def test_unverifiable_recall_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    real = recall.recall

    def invented(question: str, history: list[Turn]) -> Recollection:
        rec = real(question, history)
        quote = "My name is Grace Hopper."
        text = f'Your name is Grace Hopper. You told me: "{quote}" [{rec.source}]'
        return dataclasses.replace(rec, value="Grace Hopper", quote=quote, text=text)

    monkeypatch.setattr(recall, "recall", invented)
    answer = reason("What is my name?", HISTORY)
    assert answer.node == "unknown"
    assert answer.citations == ()
    assert "Grace" not in answer.text
    assert "could not verify the quote" in answer.text


def _calc(expression: str) -> Calculation:
    calc = arithmetic.evaluate(expression)
    assert calc.status in ("ok", "undefined")
    return calc


@pytest.mark.parametrize(
    ("change", "reason_text"),
    [
        ({"value": Fraction(13)}, "disagreement"),
        ({"rendered": "13"}, "misstates"),
        ({"expression": "3 * 4 + 1"}, "disagreement"),
        ({"text": "Twelve."}, "does not state"),
        ({"status": "undefined"}, "found no value"),
    ],
)
def test_validation_catches_arithmetic_slips(change: dict[str, object], reason_text: str) -> None:
    calc = _calc("3*4")
    assert validate_calculation(calc).ok
    check = validate_calculation(dataclasses.replace(calc, **change))  # type: ignore[arg-type]
    assert not check.ok
    assert reason_text in check.note


def test_validation_of_undefined_and_approximate() -> None:
    assert validate_calculation(_calc("1/0")).ok
    assert validate_calculation(_calc("(-4) ** 0.5")).ok
    assert validate_calculation(_calc("2 ** 0.5")).ok
    assert validate_calculation(_calc("(2 ** 3000) ** 0.5")).ok  # exact root, rechecked in decimal
    assert not validate_calculation(dataclasses.replace(_calc("1/(3-3)"), expression="1/3")).ok


def test_recompute_is_independent_of_rendering_spaces() -> None:
    assert recompute("(17 * 3) - 4") == (Fraction(47), False)
    assert recompute("0.1 + 0.2") == (Fraction(3, 10), False)
    value, approximate = recompute("2 ** 0.5")
    assert approximate
    assert abs(value**2 - 2) < Fraction(1, 10**40)


def test_validation_catches_recall_slips() -> None:
    rec = recall.recall("What is my name?", HISTORY)
    assert validate_recollection(rec, HISTORY).ok
    slips = [
        dataclasses.replace(rec, turn_index=1),  # an assistant turn
        dataclasses.replace(rec, turn_index=99),
        dataclasses.replace(rec, source="input 2"),
        dataclasses.replace(rec, quote="My name is Ada  Lovelace."),
        dataclasses.replace(rec, value="Grace"),
        dataclasses.replace(rec, text="Your name is Ada Lovelace."),
    ]
    for slip in slips:
        assert not validate_recollection(slip, HISTORY).ok, slip


@settings(max_examples=150, database=None, deadline=None)
@given(
    question=st.text(max_size=80),
    turns=st.lists(
        st.tuples(st.sampled_from(["user", "assistant", "system"]), st.text(max_size=80)),
        max_size=5,
    ),
)
def test_reason_always_answers_consistently(question: str, turns: list[tuple[str, str]]) -> None:
    history = [Turn(role, text, f"input {i}") for i, (role, text) in enumerate(turns)]
    answer = reason(question, history)
    assert answer.node in ("arithmetic", "recall", "statement", "unknown")
    assert answer.text
    assert answer.summary
    if answer.node == "recall":
        assert len(answer.citations) == 1
        assert f"[{answer.citations[0]}]" in answer.text
    else:
        assert answer.citations == ()


@settings(max_examples=100, database=None, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.sampled_from("+-*/"))
def test_arithmetic_answers_are_validated_and_correct(a: int, b: int, op: str) -> None:
    answer = reason(f"What is {a} {op} ({b})?", [])
    assert answer.node == "arithmetic"
    if op == "/" and b == 0:
        assert answer.text.startswith("Division by zero is undefined")
        return
    expected = {"+": Fraction(a + b), "-": Fraction(a - b), "*": Fraction(a * b)}.get(
        op, Fraction(a, b or 1)
    )
    assert answer.summary[-1].startswith("validation: independent re-evaluation agrees")
    shown = answer.text.split(" = ")[-1].split(" ≈ ")[-1].split(" (")[0].rstrip(".")
    assert abs(Fraction(shown) - expected) <= abs(expected) * Fraction(1, 10**11)


def test_a_statement_is_acknowledged_not_unknown() -> None:
    answer = reason("I live in Paris.", [])
    assert answer.node == "statement"
    assert answer.text == "Noted: you live in Paris."
    assert answer.citations == ()
    assert answer.summary[-1] == ("statement: a later question can recall from this message: "
                                  "'You live in Paris.'")
    later = reason("Where do I live?", [Turn("user", "I live in Paris.", "input 1")])
    assert later.text == 'You live in Paris. You told me: "I live in Paris." [input 1]'


def test_a_first_message_counts_no_earlier_message() -> None:
    answer = reason("Why is the sky blue?", [])
    assert "earlier message" in answer.text and "1 earlier" not in answer.text
    assert "(0 earlier user turns)" in answer.summary[1]


def test_recalled_memories_are_not_our_conversation() -> None:
    history = [Turn("user", "I like tea.", "memory mem_1", at=1.0)]
    answer = reason("Why is the sky blue?", history)
    assert answer.text.endswith(
        "which is all I can recall from 1 related message of yours from our other "
        "conversations.")
    answer = reason("What is my favourite colour?",
                    [*history, Turn("user", "Hello.", "input 1")])
    assert ("I searched your 1 earlier message in our conversation and 1 related message of "
            "yours from our other conversations for a statement about") in answer.text


def test_an_attached_file_answers_and_is_cited() -> None:
    history = [Turn("user", "The launch code is 1234.", "launch.txt", file="launch.txt")]
    answer = reason("What is the launch code?", history)
    assert answer.node == "recall"
    assert answer.citations == ("launch.txt",)
    assert answer.summary[-1] == ("validation: the quote appears verbatim in launch.txt, a file "
                                  "the user attached, and contains '1234'")
    unknown = reason("What is the door code?", history)
    assert "I searched the attached file launch.txt for a statement about" in unknown.text
    alone = reason("", history)
    assert (alone.node, alone.text) == (
        "statement", "Noted: I have read the attached file launch.txt. Ask me what it says.")
