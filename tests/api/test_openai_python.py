"""The official OpenAI Python SDK against the live server."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.conftest import KEY_A


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "lukhas-matriz" in ids
    model = client.models.retrieve("lukhas-matriz")
    assert model.id == "lukhas-matriz" and model.object == "model"


def test_responses_create_output_text(client: openai.OpenAI) -> None:
    resp = client.responses.create(model="lukhas-matriz", input="What is 2+2?")
    assert resp.status == "completed"
    assert resp.id.startswith("resp_")
    assert "4" in resp.output_text
    kinds = [item.type for item in resp.output]
    assert kinds == ["reasoning", "message"]
    assert resp.output[0].summary and resp.output[0].summary[0].text
    assert resp.usage is not None and resp.usage.input_tokens > 0
    assert resp.usage.output_tokens >= resp.usage.output_tokens_details.reasoning_tokens > 0


def test_responses_arithmetic(client: openai.OpenAI) -> None:
    resp = client.responses.create(model="lukhas-matriz", input="Compute (17*3)-4")
    assert "47" in resp.output_text
    resp = client.responses.create(model="lukhas-matriz", input="What is 1/0?")
    assert resp.status == "completed" and "zero" in resp.output_text.lower()


def test_responses_create_stream_raw(client: openai.OpenAI) -> None:
    # An answer longer than the Guardian's holdback window, which a short one fits in whole.
    stream = client.responses.create(
        model="lukhas-matriz", stream=True,
        input="Explain in a few sentences how a rainbow forms after the rain.")
    events = list(stream)
    types = [e.type for e in events]
    assert types[0] == "response.created" and types[1] == "response.in_progress"
    assert types[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1, "streaming yields real increments, not one blob"
    final = events[-1].response  # type: ignore[union-attr]
    assert "".join(deltas) == final.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_stream_helper_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model="lukhas-matriz", input="What is 10-3?") as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text == "".join(texts)
    assert "7" in final.output_text


def test_retrieve_delete_and_input_items_pagination(client: openai.OpenAI) -> None:
    items = [{"role": "user", "content": f"Note number {i}."} for i in range(1, 25)]
    items.append({"role": "user", "content": "What is 3+3?"})
    resp = client.responses.create(model="lukhas-matriz", input=items)  # type: ignore[arg-type]
    again = client.responses.retrieve(resp.id)
    assert again.id == resp.id and again.output_text == resp.output_text

    page = client.responses.input_items.list(resp.id, limit=10)
    assert len(page.data) == 10 and page.has_more
    listed = [item.id for item in client.responses.input_items.list(resp.id, limit=10)]
    assert len(listed) == 25 and len(set(listed)) == 25
    first = page.data[0]
    assert first.type == "message" and first.content[0].text == "What is 3+3?"  # desc default
    asc = list(client.responses.input_items.list(resp.id, order="asc", limit=7))
    assert [i.id for i in asc] == listed[::-1]

    client.responses.delete(resp.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(resp.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(resp.id)


def test_recall_along_a_chain(client: openai.OpenAI) -> None:
    first = client.responses.create(model="lukhas-matriz", input="My name is Ada Lovelace.")
    second = client.responses.create(
        model="lukhas-matriz", input="What is my name?", previous_response_id=first.id
    )
    assert "Ada" in second.output_text
    assert first.id in second.output_text, "the answer cites the turn it quotes"


def test_recall_across_conversations_and_never_across_callers(base_url: str) -> None:
    """Long-term memory: the same caller is remembered in a new conversation; no one else."""
    def mint() -> str:
        return str(httpx.post(f"{base_url}/v1/identity/tokens", headers={
            "Authorization": f"Bearer {KEY_A}"}, json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()["token"])

    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=mint(), max_retries=0) as ada, \
            openai.OpenAI(base_url=f"{base_url}/v1", api_key=mint(), max_retries=0) as bob:
        unknown = bob.responses.create(model="lukhas-matriz", input="What is my name?")
        assert "know" in unknown.output_text.lower()
        ada.responses.create(model="lukhas-matriz", input="My name is Ada Lovelace.",
                             store=False)
        forgotten = ada.responses.create(model="lukhas-matriz", input="What is my name?")
        assert "Ada" not in forgotten.output_text, "store: false keeps nothing"
        ada.responses.create(model="lukhas-matriz", input="My name is Ada Lovelace.")
        later = ada.responses.create(model="lukhas-matriz", input="What is my name?")
        assert "Ada Lovelace" in later.output_text
        assert "memory mem_" in later.output_text, "it cites the memory it quotes"
        other = bob.responses.create(model="lukhas-matriz", input="What is my name?")
        assert "Ada" not in other.output_text


def test_recall_from_echoed_input_items(client: openai.OpenAI) -> None:
    resp = client.responses.create(
        model="lukhas-matriz",
        input=[
            {"role": "user", "content": "My favourite colour is teal."},
            {"type": "message", "role": "assistant", "id": "msg_prev", "status": "completed",
             "content": [{"type": "output_text", "text": "Noted.", "annotations": []}]},
            {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "What is my favourite colour?"}]},
        ],  # type: ignore[list-item]
    )
    assert "teal" in resp.output_text


def test_max_output_tokens_incomplete(client: openai.OpenAI) -> None:
    resp = client.responses.create(
        model="lukhas-matriz", input="What is 123456789*987654321?", max_output_tokens=20
    )
    assert resp.status == "incomplete"
    assert resp.incomplete_details is not None
    assert resp.incomplete_details.reason == "max_output_tokens"
    assert resp.usage is not None and resp.usage.output_tokens <= 20


def test_chat_completions_plain(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(
        model="lukhas-matriz", messages=[{"role": "user", "content": "What is 2+2?"}]
    )
    assert done.object == "chat.completion"
    assert done.choices[0].finish_reason == "stop"
    assert "4" in (done.choices[0].message.content or "")
    assert done.usage is not None and done.usage.total_tokens > 0


def test_chat_completions_streamed(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="lukhas-matriz", messages=[{"role": "user", "content": "What is 5*5?"}],
        stream=True,
    ))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices[0].delta.role is None for c in chunks[1:])
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "25" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_chat_completions_streamed_with_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="lukhas-matriz", messages=[{"role": "user", "content": "What is 9-4?"}],
        stream=True, stream_options={"include_usage": True},
    ))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_chat_stream_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="lukhas-matriz", messages=[{"role": "user", "content": "What is 8/2?"}]
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.role == "assistant"
    assert "4" in (final.choices[0].message.content or "")


def test_sdk_exceptions(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="lukhas-matriz", input="")
    assert bad.value.code == "empty_input" and bad.value.param == "input"
    assert bad.value.request_id
    with pytest.raises(openai.NotFoundError) as missing:
        client.responses.create(model="no-such-model", input="hi")
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    wrong = openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY_A + "x", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.models.list()
    assert denied.value.code == "invalid_api_key"


def test_sdk_with_a_lid_token(http: httpx.Client, base_url: str) -> None:
    issued = http.post("/v1/identity/tokens",
                       json={"realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=issued["token"],
                       max_retries=0) as lid_client:
        first = lid_client.responses.create(model="lukhas-matriz",
                                            input="My name is Grace Hopper.")
        second = lid_client.responses.create(model="lukhas-matriz", input="What is my name?",
                                             previous_response_id=first.id)
        assert "Grace Hopper" in second.output_text
        with pytest.raises(openai.PermissionDeniedError) as denied:
            lid_client.post("/identity/tokens", cast_to=object,
                            body={"realm": "R", "zone": "Z", "tier": "T3"})
        assert denied.value.code == "insufficient_permissions"
    forged = issued["token"][:-4] + "AAAA"
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=forged, max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError) as err:
            bad.models.list()
        assert err.value.code == "token_bad_signature"
