"""`lukhas-matriz` through the real server and the OpenAI Python SDK: the latest statement
wins across conversations, a first message counts nothing before it, and a statement is
acknowledged and recallable later."""

from __future__ import annotations

import openai

MODEL = "lukhas-matriz"


def summary(resp: openai.types.responses.Response) -> str:
    return resp.output[0].summary[0].text  # type: ignore[union-attr]


def test_the_latest_statement_wins_across_conversations(caller: openai.OpenAI) -> None:
    ada = caller.responses.create(model=MODEL, input="My name is Ada Lovelace.")
    grace = caller.responses.create(model=MODEL, input="My name is Grace Hopper.")
    caller.responses.create(model=MODEL, input="Actually, my name is Alan Turing.")

    asked = caller.responses.create(model=MODEL, input="What is my name?")
    assert asked.output_text.startswith(
        'Your name is Alan Turing. You told me: "Actually, my name is Alan Turing." [memory mem_')
    assert ("recall: the most recent statement wins over earlier 'Ada Lovelace', "
            "'Grace Hopper'") in summary(asked)

    # Continuing an older conversation: its own statement is older than the correction.
    along = caller.responses.create(model=MODEL, input="What is my name?",
                                    previous_response_id=grace.id)
    assert along.output_text.startswith("Your name is Alan Turing.")

    # Said again, in a conversation of its own: the older conversation's turn is now the latest.
    caller.responses.create(model=MODEL, input="My name is Ada Lovelace.")
    again = caller.responses.create(model=MODEL, input="What is my name?",
                                    previous_response_id=ada.id)
    assert again.output_text == (
        f'Your name is Ada Lovelace. You told me: "My name is Ada Lovelace." [{ada.id} input 1]')

    chat = caller.chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "My name is Grace Hopper."},
        {"role": "assistant", "content": "Noted: your name is Grace Hopper."},
        {"role": "user", "content": "What is my name?"}])
    # The messages of this request are newer than anything remembered.
    assert (chat.choices[0].message.content or "").startswith("Your name is Grace Hopper.")


def test_a_first_message_counts_nothing_before_it(caller: openai.OpenAI) -> None:
    first = caller.responses.create(model=MODEL, input="Why is the sky blue?")
    assert first.output_text == (
        "I don't know. I looked for an arithmetic expression in your message and found none, "
        "and there is no earlier message from you in our conversation to recall from.")
    assert "(0 earlier user turns)" in summary(first)
    caller.responses.create(model=MODEL, input="My favourite colour is teal.")
    # Only long-term memory before it: that is not "our conversation".
    fresh = caller.responses.create(model=MODEL, input="What is my favourite food?")
    assert "earlier message" not in fresh.output_text.replace("no earlier message", "")
    assert "0 earlier user turns" in summary(fresh)
    chained = caller.responses.create(model=MODEL, input="What is my favourite food?",
                                      previous_response_id=first.id)
    assert "your 1 earlier message in our conversation" in chained.output_text


def test_a_statement_is_noted_and_recalled_later(caller: openai.OpenAI) -> None:
    noted = caller.responses.create(model=MODEL, input="I live in Paris.")
    assert noted.output_text == "Noted: you live in Paris."
    assert "statement: a later question can recall" in summary(noted)
    later = caller.responses.create(model=MODEL, input="Where do I live?")
    assert later.output_text.startswith(
        'You live in Paris. You told me: "I live in Paris." [memory mem_')
    along = caller.responses.create(model=MODEL, input="Where do I live?",
                                    previous_response_id=noted.id)
    assert along.output_text == f'You live in Paris. You told me: "I live in Paris." ' \
        f"[{noted.id} input 1]"
    tired = caller.chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "I am tired and my feet hurt."}])
    assert tired.choices[0].message.content == "Noted: you are tired and your feet hurt."
