"""The statement node: "Noted: …" restates what the user tells, from the assistant's side."""

from __future__ import annotations

import pytest

from app.matriz.nodes.facts import reflect
from app.matriz.nodes.statement import acknowledge, acknowledge_files


@pytest.mark.parametrize(
    ("message", "noted"),
    [
        ("I live in Paris.", "Noted: you live in Paris."),
        ("My name is Ada Lovelace.", "Noted: your name is Ada Lovelace."),
        ("Actually, my name is Alan Turing.", "Noted: your name is Alan Turing."),
        ("I am tired.", "Noted: you are tired."),
        ("i am tired", "Noted: you are tired."),
        ("I'm sure my cat likes me.", "Noted: you're sure your cat likes you."),
        ("Hi! My name is Ada and I live in London.",
         "Noted: your name is Ada; you live in London."),
        ("The launch code is 1234.", "Noted: the launch code is 1234."),
        ("I work as a nurse. I was a sailor once.",
         "Noted: you work as a nurse; you were a sailor once."),
        ("My favourite place is my garden.", "Noted: your favourite place is your garden."),
    ],
)
def test_statements_are_acknowledged(message: str, noted: str) -> None:
    told = acknowledge(message)
    assert told is not None
    assert told.text == noted


@pytest.mark.parametrize(
    "message",
    ["Hello there.", "What is my name?", "Tell me a joke about my dog.", "You are kind.",
     "Can I ask you something?", "", "Thanks!"],
)
def test_questions_requests_and_small_talk_are_not(message: str) -> None:
    assert acknowledge(message) is None


def test_the_trace_says_what_can_be_recalled() -> None:
    told = acknowledge("My name is Ada. I am tired.")
    assert told is not None
    assert told.notes == ("statement: a later question can recall from this message: "
                          "'Your name is Ada.'",)
    tired = acknowledge("I am tired.")
    assert tired is not None and "nothing in this message" in tired.notes[0]


def test_reflection_keeps_other_words() -> None:
    assert reflect("I said my piece, i.e. mine is done") == (
        "you said your piece, i.e. yours is done")
    assert reflect("Me and myself") == "you and yourself"


def test_files_alone_are_acknowledged_by_name() -> None:
    assert acknowledge_files(["launch.txt"]).text == (
        "Noted: I have read the attached file launch.txt. Ask me what it says.")
    assert "files a.pdf, b.csv" in acknowledge_files(["a.pdf", "b.csv"]).text
