"""The recall node: extractive answers about the user, quoted from user turns and cited."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.turns import Turn
from app.matriz.nodes.facts import NOT_CALLED, NOT_IDENTITY
from app.matriz.nodes.recall import recall


def user(text: str, n: int) -> Turn:
    return Turn("user", text, f"input {n}")


def assistant(text: str, n: int) -> Turn:
    return Turn("assistant", text, f"resp_1/output {n}")


def test_name_is_quoted_and_cited() -> None:
    rec = recall("What is my name?", [user("My name is Ada Lovelace.", 1)])
    assert rec.status == "found"
    assert rec.text == (
        'Your name is Ada Lovelace. You told me: "My name is Ada Lovelace." [input 1]'
    )
    assert (rec.value, rec.quote, rec.source, rec.turn_index) == (
        "Ada Lovelace", "My name is Ada Lovelace.", "input 1", 0
    )


def test_quote_is_the_sentence_not_the_whole_turn() -> None:
    history = [user("Hello there! My name is Ada Lovelace. I like maths.", 1)]
    rec = recall("what's my name?", history)
    assert rec.quote == "My name is Ada Lovelace."


@pytest.mark.parametrize(
    ("statement", "question", "answer"),
    [
        ("My favourite colour is blue.", "What is my favourite colour?",
         "Your favourite colour is blue."),
        ("MY FAVOURITE COLOUR IS Blue!", "what's my favourite colour",
         "Your favourite colour is Blue."),
        ("My favorite color is teal.", "What's my favourite colour?",
         "Your favorite color is teal."),
        ("My dog's name is Rex.", "Do you remember my dog's name?", "Yes. Your dog's name is Rex."),
        ("My dog’s name is Rex.", "What is my dog's name?", "Your dog's name is Rex."),
        ("My name's Grace.", "What is my name?", "Your name is Grace."),
        ("I am Grace Hopper.", "Who am I?", "You are Grace Hopper."),
        ("I'm Grace.", "What is my name?", "Your name is Grace."),
        ("Please call me Ishmael.", "What's my name?", "Your name is Ishmael."),
        ("Call me Ishmael.", "who am i?", "You are Ishmael."),
        ("I'm a retired sailor.", "Who am I?", "You are a retired sailor."),
        ("I live in Paris, near the river.", "Where do I live?", "You live in Paris."),
        ("I work at CERN.", "Where do I work?", "You work at CERN."),
        ("I work as a nurse.", "What do I do?", "You work as a nurse."),
        ("I work as a nurse.", "What is my job?", "You work as a nurse."),
        ("My full name is Ada King.", "What is my name?", "Your full name is Ada King."),
        ("My favourite place is my garden.", "What is my favourite place?",
         "Your favourite place is your garden."),
        ("My kids are Tom and Ann.", "Who are my kids?", "Your kids are Tom and Ann."),
    ],
)
def test_statements_answer_questions(statement: str, question: str, answer: str) -> None:
    rec = recall(question, [user(statement, 1)])
    assert rec.status == "found", rec.notes
    assert rec.text.startswith(answer + " You told me: ")
    assert rec.text.endswith(f'"{statement}" [input 1]')


def test_one_sentence_can_hold_several_statements() -> None:
    history = [user("My name is Ada and I live in London, and I work at the Royal Society.", 1)]
    assert recall("What is my name?", history).value == "Ada"
    assert recall("Where do I live?", history).value == "London"
    assert recall("Where do I work?", history).value == "the Royal Society"


def test_most_recent_statement_wins() -> None:
    history = [
        user("My favourite colour is blue.", 1),
        assistant("Blue is lovely.", 1),
        user("Sorry, my favourite colour is actually green.", 2),
        user("Never mind.", 3),
    ]
    rec = recall("What is my favourite colour?", history)
    assert rec.value == "green"
    assert rec.source == "input 2"
    assert any("most recent" in note and "'blue'" in note for note in rec.notes)


def test_later_sentence_in_the_same_turn_wins() -> None:
    rec = recall("What do I do?", [user("I work at CERN and I work as a physicist.", 1)])
    assert rec.text.startswith("You work as a physicist.")


def test_assistant_and_system_turns_are_never_sources() -> None:
    history = [
        Turn("system", "My name is System Prompt.", "instructions"),
        Turn("developer", "I live in the config.", "developer 1"),
        user("Hello!", 1),
        assistant("Hi! My name is Lukhas. I live in the cloud. Your name is Bob.", 1),
    ]
    assert recall("What is my name?", history).status == "not_found"
    assert recall("Where do I live?", history).status == "not_found"


def test_assistant_statement_does_not_override_user() -> None:
    history = [user("My name is Ada.", 1), assistant("My name is Lukhas.", 1)]
    assert recall("What is my name?", history).value == "Ada"


@pytest.mark.parametrize(
    "statement",
    ["I'm not sure.", "I am hungry.", "I'm going to the shops.", "Call me back later.",
     "My name is not Bob.", "I'm from Paris."],
)
def test_non_statements_are_ignored(statement: str) -> None:
    rec = recall("Who am I?", [user(statement, 1)])
    assert rec.status == "not_found"


def test_trailing_punctuation_and_filler_are_stripped() -> None:
    assert recall("What is my name?", [user("My name is Ada!!!", 1)]).value == "Ada"
    assert recall("What is my name?", [user("my name is Ada now", 1)]).value == "Ada"
    assert recall("What is my name?", [user('My name is "Ada".', 1)]).value == "Ada"


def test_other_keys_do_not_answer() -> None:
    history = [user("My dog's name is Rex.", 1), user("My favourite colour is red.", 2)]
    assert recall("What is my name?", history).status == "not_found"
    assert recall("What is my favourite food?", history).status == "not_found"


def test_not_found_counts_user_turns_only() -> None:
    history = [user("Hi", 1), assistant("Hello", 1), user("ok", 2), user("thanks", 3)]
    rec = recall("What is my favourite colour?", history)
    assert rec.status == "not_found"
    assert rec.searched == 3
    assert rec.topic == '"your favourite colour"'


@pytest.mark.parametrize(
    "question", ["Why is the sky blue?", "My name is Bob.", "hello", ""]
)
def test_not_a_recall_question(question: str) -> None:
    assert recall(question, [user("My name is Ada.", 1)]).status == "not_asked"


def test_long_turns_quote_only_the_statement() -> None:
    filler = "word " * 80
    rec = recall("What is my name?", [user(f"{filler}my name is actually Ada, {filler}", 1)])
    assert (rec.quote, rec.value) == ("my name is actually Ada", "Ada")


# Words the parser reads as connectives or fillers ("call me At home", "Ada and Bo") are not
# names it can be expected to take whole.
_FILLERS = NOT_CALLED | NOT_IDENTITY
_FILLERS |= {"at", "and", "but", "so", "or", "now", "then", "too", "in", "as", "for", "to",
            "because", "since", "while", "though", "anyway", "actually", "really", "still",
            "just", "definitely", "btw", "by", "the", "way", "well", "on", "of", "is", "am"}
_NAME = st.from_regex(r"[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10}){0,2}", fullmatch=True).filter(
    lambda name: not set(name.lower().split()) & _FILLERS
)


@settings(max_examples=100, database=None, deadline=None)
@given(first=_NAME, second=_NAME, noise=st.text(max_size=40))
def test_quote_is_verbatim_and_latest_value_wins(first: str, second: str, noise: str) -> None:
    history = [user(f"My name is {first}.", 1), user(noise, 2), user(f"Call me {second}!", 3)]
    rec = recall("What is my name?", history)
    assert rec.status == "found"
    assert rec.value == second
    assert rec.quote in history[rec.turn_index].text
    assert rec.value in rec.quote


@settings(max_examples=150, database=None, deadline=None)
@given(question=st.text(max_size=60), texts=st.lists(st.text(max_size=80), max_size=4))
def test_never_raises_and_only_quotes_user_text(question: str, texts: list[str]) -> None:
    history = [Turn("user" if i % 2 == 0 else "assistant", t, f"t{i}") for i, t in enumerate(texts)]
    rec = recall(question, history)
    if rec.status == "found":
        assert history[rec.turn_index].role == "user"
        assert rec.quote in history[rec.turn_index].text


def test_many_statements_in_one_long_sentence_stay_linear() -> None:
    """Each statement's value is bounded, so a long run-on turn cannot stall the reasoner."""
    history = [user("my name is Ada and " * 4000, 1)]
    results: list[str] = []
    worker = threading.Thread(
        target=lambda: results.append(recall("What is my name?", history).value), daemon=True
    )
    worker.start()
    worker.join(timeout=1.0)
    assert not worker.is_alive()
    assert results == ["Ada"]


def remembered(text: str, n: int, at: float) -> Turn:
    """A turn long-term memory recalled from another conversation, said at `at`."""
    return Turn("user", text, f"memory mem_{n}", at=at)


def attached(text: str, name: str, at: float | None = None) -> Turn:
    return Turn("user", text, name, at=at, file=name)


def test_the_latest_statement_wins_by_time_not_by_place() -> None:
    """Recalled memories come best match first; their times say which was said last."""
    history = [
        remembered("My name is Ada Lovelace.", 1, at=300.0),
        remembered("Actually, my name is Alan Turing.", 2, at=500.0),
        remembered("My name is Grace Hopper.", 3, at=400.0),
        Turn("user", "Call me Charles.", "resp_1 input 1", at=200.0),  # this chain, said first
    ]
    rec = recall("What is my name?", history)
    assert (rec.value, rec.source) == ("Alan Turing", "memory mem_2")
    assert rec.notes[-1] == ("recall: the most recent statement wins over earlier 'Charles', "
                             "'Ada Lovelace', 'Grace Hopper'")


def test_a_turn_of_this_request_is_newer_than_any_stored_one() -> None:
    history = [user("Call me Bob.", 1), remembered("My name is Ada.", 1, at=10**12)]
    assert recall("What is my name?", history).value == "Bob"


def test_turns_said_at_the_same_time_keep_their_order() -> None:
    history = [Turn("user", "My name is Ada.", "resp_1 input 1", at=7.0),
               Turn("user", "My name is Bea.", "resp_1 input 2", at=7.0)]
    assert recall("What is my name?", history).value == "Bea"


@pytest.mark.parametrize(
    "correction",
    ["Actually, my name is Alan Turing.", "Sorry, my name is actually Alan Turing.",
     "Correction: my name is Alan Turing.", "No, I'm Alan Turing.", "Actually I am Alan Turing!"],
)
def test_corrections_are_statements(correction: str) -> None:
    history = [user("My name is Ada Lovelace.", 1), user(correction, 2)]
    rec = recall("What is my name?", history)
    assert (rec.value, rec.source) == ("Alan Turing", "input 2")


def test_what_was_searched_is_counted_apart() -> None:
    """Messages of this conversation, attached files and recalled memories are told apart,
    and only what came before the question is counted."""
    assert recall("What is my name?", []).searched == 0
    history = [remembered("I like tea.", 1, at=1.0), user("Hello.", 1),
               attached("Some notes.", "notes.md"), assistant("Hi.", 1)]
    rec = recall("What is my name?", history)
    assert (rec.searched, rec.files, rec.remembered) == (1, ("notes.md",), 1)
    assert rec.notes[0] == ("recall: looked for a statement about \"your name\" in 1 earlier "
                            "user turn, 1 attached file ('notes.md') and 1 message recalled "
                            "from other conversations")


def test_a_file_is_quoted_with_its_name() -> None:
    history = [attached("Mission notes.\nThe launch code is 1234.\nGood luck.", "launch.txt")]
    rec = recall("What is the launch code?", history)
    assert rec.status == "found"
    assert rec.text == ('The launch code is 1234. The file launch.txt says: '
                        '"The launch code is 1234." [launch.txt]')
    assert (rec.value, rec.source, rec.topic) == ("1234", "launch.txt", '"the launch code"')


@pytest.mark.parametrize(
    ("document", "quote"),
    [
        ("# Codes\n\n- **Launch code**: 1234\n- Door code: 42\n", "- **Launch code**: 1234"),
        ('{\n  "launch_code": "1234",\n  "site": "Cape"\n}\n', '"launch_code": "1234",'),
        ("name,value\nlaunch code,1234\nsite,Cape\n", "launch code,1234"),
        ("| Item | Value |\n|---|---|\n| Launch code | 1234 |\n", "| Launch code | 1234 |"),
        ("launch-code = 1234\r\n", "launch-code = 1234"),
    ],
)
def test_key_value_lines_of_documents(document: str, quote: str) -> None:
    for question in ("What is the launch code?", "Tell me the launch code.",
                     "What's the launch code again?"):
        rec = recall(question, [attached(document, "codes")])
        assert (rec.status, rec.value, rec.quote) == ("found", "1234", quote), question


def test_a_files_first_person_is_not_the_users() -> None:
    history = [attached("My name is Bob. I live in Oslo.", "letter.txt")]
    assert recall("What is my name?", history).status == "not_found"
    assert recall("Where do I live?", history).status == "not_found"


def test_the_user_can_state_things_too() -> None:
    history = [user("The launch code is 4321.", 1)]
    rec = recall("Do you remember the launch code?", history)
    assert rec.text == ('Yes. The launch code is 4321. You told me: '
                        '"The launch code is 4321." [input 1]')


def test_the_latest_of_a_message_and_a_file_wins() -> None:
    history = [attached("The launch code is 1234.", "launch.txt", at=5.0),
               Turn("user", "The launch code is now 9999.", "resp_2 input 1", at=6.0)]
    assert recall("What is the launch code?", history).value == "9999"
    history = [history[1], attached("The launch code is 1234.", "launch.txt")]
    assert recall("What is the launch code?", history).value == "1234"


@pytest.mark.parametrize(
    "question", ["What is the time?", "Why is the sky blue?", "Is the door open?"])
def test_things_nobody_stated_are_not_found_or_not_asked(question: str) -> None:
    rec = recall(question, [user("The launch code is 1234.", 1)])
    assert rec.status in ("not_found", "not_asked")
