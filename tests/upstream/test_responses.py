"""The mock upstream's native Responses API, models and embeddings, through the Python SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema_rs
import openai
import pytest
from pydantic import BaseModel

from tests.utils.mock_upstream import MockUpstream

MODEL = "mock-gpt"
LOOKUP = {"type": "function", "name": "lookup", "strict": True, "parameters": {
    "type": "object", "required": ["q", "limit"], "additionalProperties": False,
    "properties": {"q": {"type": "string"}, "limit": {"type": "integer", "minimum": 5}}}}
EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
          "response.content_part.added", *["response.output_text.delta"] * 3,
          "response.output_text.done",
          "response.content_part.done", "response.output_item.done", "response.completed"]


@pytest.fixture
def sdk(mock_upstream: MockUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=mock_upstream.url, api_key="k", max_retries=0) as c:
        yield c


def test_create(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    done = sdk.responses.create(model=MODEL, input="Hello there", instructions="Be nice.")
    assert done.object == "response" and done.id.startswith("resp_")
    assert done.status == "completed" and done.output_text == "Echo: Hello there"
    assert done.output[0].type == "message" and done.output[0].id.startswith("msg_")
    assert done.instructions == "Be nice."
    assert done.usage and done.usage.output_tokens == 3
    assert done.usage.input_tokens_details.cached_tokens == 0
    assert done.usage.output_tokens_details.reasoning_tokens == 0
    assert sdk.responses.retrieve(done.id).output_text == "Echo: Hello there"
    assert mock_upstream.last("/v1/responses")["body"]["instructions"] == "Be nice."


def test_stream_helper_sees_the_full_event_sequence(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=MODEL, input="hi there") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events] == EVENTS
    assert [e.sequence_number for e in events] == list(range(len(EVENTS)))
    assert final.output_text == "Echo: hi there" and final.status == "completed"
    assert final.usage and final.usage.total_tokens > 0


def test_function_calls_streamed_then_answered(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=MODEL, input="please lookup cats",
                              tools=[LOOKUP]) as stream:  # type: ignore[list-item]
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert kinds.count("response.function_call_arguments.delta") > 1
    assert "response.function_call_arguments.done" in kinds
    call = final.output[0]
    assert call.type == "function_call" and call.name == "lookup"
    assert call.call_id.startswith("call_") and call.id and call.id.startswith("fc_")
    jsonschema_rs.validate(LOOKUP["parameters"], json.loads(call.arguments))
    follow = sdk.responses.create(model=MODEL, previous_response_id=final.id, input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "3 cats"}])
    assert follow.output_text == "Tool result: 3 cats"
    assert follow.usage and follow.usage.input_tokens_details.cached_tokens > 0
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input=[
            {"type": "function_call_output", "call_id": "call_x", "output": "orphan"}])


class Answer(BaseModel):
    summary: str
    score: float
    labels: list[str]


def test_structured_output(sdk: openai.OpenAI) -> None:
    parsed = sdk.responses.parse(model=MODEL, input="rate this", text_format=Answer)
    assert parsed.output_parsed == Answer(summary="Echo: rate this", score=0.0, labels=["mock"])


def test_incomplete_refusal_and_unknown_previous(sdk: openai.OpenAI,
                                                 mock_upstream: MockUpstream) -> None:
    long = " ".join(["word"] * 30)
    cut = sdk.responses.create(model=MODEL, input=long, max_output_tokens=16)
    assert cut.status == "incomplete"
    assert cut.incomplete_details and cut.incomplete_details.reason == "max_output_tokens"
    assert len(cut.output_text.split()) == 16
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=MODEL, input="x", max_output_tokens=4)
    mock_upstream.behave("refuse")
    with sdk.responses.stream(model=MODEL, input="x") as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.refusal.done" in kinds
    assert final.output[0].content[0].type == "refusal"  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError) as err:
        sdk.responses.create(model=MODEL, input="x", previous_response_id="resp_nope")
    assert err.value.code == "previous_response_not_found"


def test_models(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    assert [m.id for m in sdk.models.list()] == ["mock-gpt", "mock-mini"]
    assert sdk.models.retrieve("mock-mini").owned_by == "mock-upstream"
    mock_upstream.configure(models=["llama-3-8b"])
    assert [m.id for m in sdk.models.list()] == ["llama-3-8b"]
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("mock-mini")


def test_embeddings(sdk: openai.OpenAI) -> None:
    texts = ["The cat sat.", "Stocks fell."]
    b64 = sdk.embeddings.create(model=MODEL, input=texts)  # the SDK asks for base64
    floats = sdk.embeddings.create(model=MODEL, input=texts, encoding_format="float")
    assert [d.index for d in b64.data] == [0, 1]
    for a, b in zip(b64.data, floats.data, strict=True):
        assert len(a.embedding) == 32
        assert max(abs(x - y) for x, y in zip(a.embedding, b.embedding, strict=True)) < 1e-6
        assert abs(sum(x * x for x in b.embedding) - 1) < 1e-6
    assert b64.data[0].embedding != b64.data[1].embedding
    again = sdk.embeddings.create(model=MODEL, input="The cat sat.", dimensions=8,
                                  encoding_format="float")
    assert len(again.data[0].embedding) == 8
    for bad in ({"input": ""}, {"input": "x", "dimensions": 64},
                {"input": "x", "encoding_format": "int8"}):
        with pytest.raises(openai.BadRequestError):
            sdk.embeddings.create(model=MODEL, **bad)  # type: ignore[arg-type]
