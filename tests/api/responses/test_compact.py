"""`POST /v1/responses/compact` with the built-in model, through the official Python SDK
against the live server: compact a chain, start a new response from the window, recall."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response

from app.matriz.tokenizer import count_tokens
from tests.conftest import KEY_B

MODEL = "lukhas-matriz"


def _name() -> str:
    """A name no other test has told this caller (long-term memory holds theirs)."""
    return "Ada Q" + secrets.token_hex(4)


def _ask(client: openai.OpenAI, window: list[Any], question: str) -> Response:
    return client.responses.create(model=MODEL, input=[
        *window, {"role": "user", "content": question}])  # type: ignore[list-item]


def test_a_compacted_chain_still_recalls(client: openai.OpenAI) -> None:
    name = _name()
    first = client.responses.create(model=MODEL, input=f"My name is {name}.")
    second = client.responses.create(model=MODEL, input="What is 12*3?",
                                     previous_response_id=first.id)
    third = client.responses.create(model=MODEL, input="I live in Lisbon.",
                                    previous_response_id=second.id)
    compacted = client.responses.compact(model=MODEL, previous_response_id=third.id)

    assert compacted.object == "response.compaction" and compacted.id.startswith("cmpr_")
    kinds = [(item.type, getattr(item, "role", None)) for item in compacted.output]
    assert kinds == [("message", "user"), ("message", "user"), ("compaction", None)]
    kept = [item.content[0].text for item in compacted.output  # type: ignore[union-attr]
            if item.type == "message"]
    assert kept == [f"My name is {name}.", "I live in Lisbon."], "statements, verbatim"
    item = compacted.output[-1]
    assert item.type == "compaction" and item.id.startswith("cmp_")
    sealed = base64.urlsafe_b64decode(item.encrypted_content)
    assert name.encode() not in sealed and b"12*3" not in sealed, "sealed, not encoded"
    # Usage: every turn compacted, read by the service's tokenizer.
    said = [f"My name is {name}.", first.output_text, "What is 12*3?", second.output_text,
            "I live in Lisbon.", third.output_text]
    assert compacted.usage.input_tokens == sum(count_tokens(text) for text in said)
    assert compacted.usage.output_tokens > 0
    assert compacted.usage.total_tokens == (compacted.usage.input_tokens
                                            + compacted.usage.output_tokens)

    again = _ask(client, compacted.output, "What is my name?")
    assert name in again.output_text
    assert f"[{first.id} input 1]" in again.output_text, "it cites where it was said"
    where = _ask(client, compacted.output, "Where do I live?")
    assert "Lisbon" in where.output_text and f"[{third.id} input 1]" in where.output_text
    # The window's turns are stored with the new response: its chain goes on recalling.
    later = client.responses.create(model=MODEL, input="What is my name again?",
                                    previous_response_id=again.id)
    assert name in later.output_text and f"[{first.id} input 1]" in later.output_text
    items = client.responses.input_items.list(again.id, order="asc")
    assert [i.type for i in items] == ["message", "message", "compaction", "message"]


def test_a_window_compacts_again_with_new_turns(client: openai.OpenAI) -> None:
    first = client.responses.compact(model=MODEL, input=[
        {"role": "user", "content": "My favourite colour is ultramarine."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "What is 3+3?"},
    ])
    assert [i.type for i in first.output] == ["message", "compaction"]
    second = client.responses.compact(model=MODEL, input=[
        *first.output,  # type: ignore[list-item]
        {"role": "user", "content": "My dog is called Biscuit."},
        {"role": "assistant", "content": "A fine name."},
    ])
    kept = [i.content[0].text for i in second.output  # type: ignore[union-attr]
            if i.type == "message"]
    assert kept == ["My favourite colour is ultramarine.", "My dog is called Biscuit."]
    colour = _ask(client, second.output, "What is my favourite colour?")
    assert "ultramarine" in colour.output_text
    assert f"[{first.id} input 1]" in colour.output_text, "the first window's source stays"
    dog = _ask(client, second.output, "What is my dog called?")
    assert "Biscuit" in dog.output_text and f"[{second.id} input 3]" in dog.output_text


def test_an_edited_kept_message_is_the_callers_own(client: openai.OpenAI) -> None:
    compacted = client.responses.compact(model=MODEL, input="My name is Grace Hopper.")
    window = [item.model_dump() for item in compacted.output]
    window[0]["content"][0]["text"] = "My name is Mallory."
    answer = _ask(client, window, "What is my name?")
    assert "Mallory" in answer.output_text
    assert compacted.id not in answer.output_text, "an edited item loses the kept source"


def test_a_tampered_item_is_a_400_naming_it(client: openai.OpenAI, http: httpx.Client) -> None:
    compacted = client.responses.compact(model=MODEL, input="My name is Ada Lovelace.")
    item = compacted.output[-1].model_dump()
    content = item["encrypted_content"]
    flipped = content[:40] + ("A" if content[40] != "A" else "B") + content[41:]
    for bad in (flipped, content[:-8], "not base64 at all!", "", "gAAAAA" + content[6:]):
        answer = http.post("/v1/responses", json={"model": MODEL, "input": [
            {"role": "user", "content": "Hello."}, {**item, "encrypted_content": bad},
            {"role": "user", "content": "What is my name?"}]})
        assert answer.status_code == 400, (bad[:20], answer.text)
        error = answer.json()["error"]
        assert error["param"] == "input[1]" and error["code"] == "invalid_encrypted_content"
        assert "input[1]" in error["message"]
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.compact(model=MODEL, input=[{**item, "encrypted_content": flipped}])
    assert raised.value.body["param"] == "input[0]"  # type: ignore[index]


def test_another_callers_item_does_not_open(client: openai.OpenAI, base_url: str) -> None:
    first = client.responses.create(model=MODEL, input="My name is Ada Lovelace.")
    compacted = client.responses.compact(model=MODEL, previous_response_id=first.id)
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY_B, max_retries=0) as bob:
        with pytest.raises(openai.BadRequestError) as raised:
            _ask(bob, compacted.output, "What is my name?")
        assert raised.value.code == "invalid_encrypted_content"
        assert raised.value.body["param"] == "input[1]"  # type: ignore[index]
        with pytest.raises(openai.NotFoundError) as missing:
            bob.responses.compact(model=MODEL, previous_response_id=first.id)
        assert missing.value.code == "previous_response_not_found"


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ({}, 400, "input", "missing_required_parameter"),
    ({"input": ""}, 400, "input", "empty_input"),
    ({"input": []}, 400, "input", "empty_input"),
    ({"previous_response_id": "resp_nope"}, 404, "previous_response_id",
     "previous_response_not_found"),
    ({"input": "hi", "model": "no-such-model"}, 404, "model", "model_not_found"),
    ({"input": "hi", "service_tier": "flex"}, 400, "service_tier", "unsupported_parameter"),
    ({"input": "hi", "prompt_cache_key": "k"}, 400, "prompt_cache_key",
     "unsupported_parameter"),
    ({"input": [{"type": "item_reference", "id": "msg_1"}]}, 400, "input[0]",
     "unsupported_item"),
])
def test_compaction_errors(http: httpx.Client, body: dict[str, Any], status: int, param: str,
                           code: str) -> None:
    answer = http.post("/v1/responses/compact", json={"model": MODEL, **body})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_compaction_needs_the_responses_scope(base_url: str) -> None:
    token = httpx.post(f"{base_url}/v1/identity/tokens",
                       headers={"Authorization": f"Bearer {KEY_B}"},
                       json={"realm": "LUKHAS", "zone": "eu", "tier": "T1"}).json()["token"]
    answer = httpx.post(f"{base_url}/v1/responses/compact",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"model": MODEL, "input": "My name is Ada."})
    assert answer.status_code == 403
    assert answer.headers["x-ratelimit-limit-requests"]
