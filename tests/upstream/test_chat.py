"""The mock upstream's chat completions, as the official OpenAI Python SDK sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import openai
import pytest
from pydantic import BaseModel

from tests.utils.mock_upstream import MockUpstream

MODEL = "mock-gpt"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "required": ["city", "days", "unit"], "additionalProperties": False,
    "properties": {"city": {"type": "string", "minLength": 1},
                   "days": {"type": "integer", "minimum": 1, "maximum": 7},
                   "unit": {"enum": ["celsius", "fahrenheit"]}}}}}
LOOKUP = {"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}}}}


@pytest.fixture
def sdk(mock_upstream: MockUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=mock_upstream.url, api_key="sk-test", max_retries=0) as c:
        yield c


def user(text: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_plain_completion_echoes_the_last_user_message(sdk: openai.OpenAI,
                                                       mock_upstream: MockUpstream) -> None:
    messages = [{"role": "system", "content": "Be brief."}, *user("What is the capital?")]
    done = sdk.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    assert done.object == "chat.completion" and done.id.startswith("chatcmpl-")
    assert done.model == MODEL
    choice = done.choices[0]
    assert choice.message.content == "Echo: What is the capital?"
    assert choice.message.role == "assistant" and choice.message.refusal is None
    assert choice.finish_reason == "stop" and choice.logprobs is None
    usage = done.usage
    assert usage is not None and usage.completion_tokens == 5
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 0
    seen = mock_upstream.last()
    assert seen["body"]["messages"] == messages
    assert seen["headers"]["authorization"] == "Bearer sk-test"
    assert mock_upstream.counts() == {"/v1/chat/completions": 1}


def test_stream_with_usage_through_the_sdk_helper(sdk: openai.OpenAI) -> None:
    with sdk.chat.completions.stream(model=MODEL, messages=user("one two three four"),
                                     stream_options={"include_usage": True}) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta" and e.delta]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Echo: one two three four" and len(deltas) == 5
    assert final.choices[0].message.content == "Echo: one two three four"
    assert final.choices[0].message.role == "assistant"
    assert final.choices[0].finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens == 5


def test_raw_stream_puts_usage_last_and_only_with_include_usage(sdk: openai.OpenAI) -> None:
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=user("hi"), stream=True,
                                              stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert [c.usage is not None for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].choices == []
    assert [c.choices[0].delta.role for c in chunks[:-1]] == ["assistant"] + [None] * (
        len(chunks) - 2)
    plain = list(sdk.chat.completions.create(model=MODEL, messages=user("hi"), stream=True))
    assert all(c.usage is None and c.choices for c in plain)
    assert plain[-1].choices[0].finish_reason == "stop"


def test_tool_call_when_the_user_names_a_tool(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(model=MODEL, messages=user("Use get_weather for Paris"),
                                       tools=[WEATHER, LOOKUP])  # type: ignore[list-item]
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]  # type: ignore[union-attr]
    args = json.loads(calls[0].function.arguments)  # type: ignore[union-attr]
    jsonschema_rs.validate(WEATHER["function"]["parameters"], args)  # type: ignore[index]
    assert args["city"] == "Use get_weather for Paris"


@pytest.mark.parametrize(("choice", "text", "called"), [
    ("auto", "Tell me a joke", []),
    ("none", "Use get_weather now", []),
    ("required", "Tell me a joke", ["get_weather"]),
    ({"type": "function", "function": {"name": "lookup"}}, "Tell me", ["lookup"]),
])
def test_tool_choice(sdk: openai.OpenAI, choice: Any, text: str, called: list[str]) -> None:
    done = sdk.chat.completions.create(model=MODEL, messages=user(text), tools=[WEATHER, LOOKUP],
                                       tool_choice=choice)  # type: ignore[list-item]
    calls = done.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == called  # type: ignore[union-attr]
    assert done.choices[0].finish_reason == ("tool_calls" if called else "stop")


@pytest.mark.parametrize(("parallel", "names"), [(True, ["lookup", "get_weather"]),
                                                 (False, ["lookup"])])
def test_parallel_tool_calls(sdk: openai.OpenAI, parallel: bool, names: list[str]) -> None:
    done = sdk.chat.completions.create(
        model=MODEL, messages=user("lookup the city, then get_weather there"),
        tools=[WEATHER, LOOKUP], parallel_tool_calls=parallel)  # type: ignore[list-item]
    calls = done.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == names  # type: ignore[union-attr]
    assert len({c.id for c in calls}) == len(calls)


def test_streamed_tool_calls_are_assembled_by_the_sdk(sdk: openai.OpenAI) -> None:
    messages = user("lookup and get_weather")
    with sdk.chat.completions.stream(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                     tools=[WEATHER, LOOKUP]) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()
    assert events.count("tool_calls.function.arguments.delta") > 4
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["lookup", "get_weather"]
    for call, tool in zip(calls, [LOOKUP, WEATHER], strict=True):
        assert call.id.startswith("call_") and call.type == "function"
        jsonschema_rs.validate(tool["function"]["parameters"],  # type: ignore[index]
                               json.loads(call.function.arguments))
    raw = list(sdk.chat.completions.create(model=MODEL, messages=messages, stream=True,
                                           tools=[WEATHER, LOOKUP]))  # type: ignore[list-item]
    deltas = [t for c in raw for t in c.choices[0].delta.tool_calls or []]
    # As OpenAI streams them: id and name once, in each call's first delta; then argument pieces.
    assert [d.index for d in deltas if d.id] == [0, 1]
    assert all(d.function and d.function.name for d in deltas if d.id)
    assert all(d.function and d.function.name is None for d in deltas if not d.id)
    assert raw[-1].choices[0].finish_reason == "tool_calls"


def test_a_tool_message_is_answered_by_quoting_it(sdk: openai.OpenAI) -> None:
    call = {"id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": '{"q":"x"}'}}
    messages = [*user("lookup x"), {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": "42 results"}]
    done = sdk.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                       tools=[LOOKUP])  # type: ignore[list-item]
    assert done.choices[0].message.content == "Tool result: 42 results"
    with pytest.raises(openai.BadRequestError) as err:
        sdk.chat.completions.create(model=MODEL, messages=[  # type: ignore[arg-type]
            *user("x"), {"role": "tool", "tool_call_id": "call_9", "content": "orphan"}])
    assert "preceeding message with 'tool_calls'" in err.value.message


class Address(BaseModel):
    street: str
    number: int


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]
    address: Address
    kind: str | None


def test_structured_output_parses_into_the_pydantic_model(sdk: openai.OpenAI,
                                                          mock_upstream: MockUpstream) -> None:
    done = sdk.chat.completions.parse(model=MODEL, messages=user("Ada, 36"),
                                      response_format=Person)
    person = done.choices[0].message.parsed
    assert isinstance(person, Person)
    assert person.name == "Echo: Ada, 36"
    sent = mock_upstream.last()["body"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True


def test_json_object_mode(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(model=MODEL, messages=user("Answer in JSON: hi"),
                                       response_format={"type": "json_object"})
    assert json.loads(done.choices[0].message.content or "") == {"echo": "Echo: Answer in JSON: hi"}
    with pytest.raises(openai.BadRequestError) as err:
        sdk.chat.completions.create(model=MODEL, messages=user("hi"),
                                    response_format={"type": "json_object"})
    assert err.value.param == "messages"


def test_logprobs_with_top_logprobs(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(model=MODEL, messages=user("a b"), logprobs=True,
                                       top_logprobs=3)
    entries = done.choices[0].logprobs.content  # type: ignore[union-attr]
    assert entries is not None
    assert "".join(e.token for e in entries) == done.choices[0].message.content
    for entry in entries:
        assert entry.logprob < 0 and entry.bytes == list(entry.token.encode())
        assert len(entry.top_logprobs) == 3
        assert entry.top_logprobs[0].token == entry.token
        assert sorted((t.logprob for t in entry.top_logprobs), reverse=True) == [
            t.logprob for t in entry.top_logprobs]
    chunks = list(sdk.chat.completions.create(model=MODEL, messages=user("a b"), logprobs=True,
                                              top_logprobs=2, stream=True))
    streamed = [lp for c in chunks if c.choices and c.choices[0].logprobs
                for lp in c.choices[0].logprobs.content or []]
    assert [e.token for e in streamed] == [e.token for e in entries]
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model=MODEL, messages=user("a"), top_logprobs=2)


def test_max_tokens_and_stop_sequences(sdk: openai.OpenAI) -> None:
    text = "one two three four five six"
    cut = sdk.chat.completions.create(model=MODEL, messages=user(text), max_tokens=3)
    assert cut.choices[0].message.content == "Echo: one two"
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage and cut.usage.completion_tokens == 3
    cut = sdk.chat.completions.create(model=MODEL, messages=user(text), max_completion_tokens=2)
    assert cut.choices[0].finish_reason == "length"
    stopped = sdk.chat.completions.create(model=MODEL, messages=user(text), stop=["four", "x"])
    assert stopped.choices[0].message.content == "Echo: one two three "
    assert stopped.choices[0].finish_reason == "stop"
    with pytest.raises(openai.LengthFinishReasonError):
        sdk.chat.completions.parse(model=MODEL, messages=user(text), response_format=Person,
                                   max_tokens=2)


def test_n_choices_and_too_many(sdk: openai.OpenAI) -> None:
    done = sdk.chat.completions.create(model=MODEL, messages=user("hi"), n=3, seed=7)
    assert [c.index for c in done.choices] == [0, 1, 2]
    assert done.system_fingerprint
    with pytest.raises(openai.BadRequestError) as err:
        sdk.chat.completions.create(model=MODEL, messages=user("hi"), n=17)
    assert err.value.param == "n"


def test_images_are_acknowledged(sdk: openai.OpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    done = sdk.chat.completions.create(model=MODEL, messages=user(  # type: ignore[arg-type]
        [{"type": "text", "text": "What is this?"}, image, image]))
    assert done.choices[0].message.content == "I see 2 images. Echo: What is this?"


def test_cached_and_reasoning_tokens(sdk: openai.OpenAI) -> None:
    first = [{"role": "system", "content": "A long shared system prompt " * 20}, *user("one")]
    sdk.chat.completions.create(model=MODEL, messages=first)  # type: ignore[arg-type]
    again = sdk.chat.completions.create(model=MODEL, messages=[  # type: ignore[arg-type]
        *first, {"role": "assistant", "content": "Echo: one"}, *user("two")],
        reasoning_effort="high")
    usage = again.usage
    assert usage and usage.prompt_tokens_details and usage.completion_tokens_details
    assert 0 < usage.prompt_tokens_details.cached_tokens < usage.prompt_tokens  # type: ignore[operator]
    assert usage.completion_tokens_details.reasoning_tokens == 32
    assert usage.completion_tokens == 2 + 32  # "Echo: two", and the reasoning


def test_refusal_and_content_filter(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("refuse", refusal="No can do.")
    done = sdk.chat.completions.create(model=MODEL, messages=user("hi"))
    assert done.choices[0].message.refusal == "No can do."
    assert done.choices[0].message.content is None
    mock_upstream.behave("refuse")
    with sdk.chat.completions.stream(model=MODEL, messages=user("hi")) as stream:
        refusal = stream.get_final_completion().choices[0].message.refusal
    assert refusal == "I'm sorry, but I can't help with that."
    mock_upstream.behave("content_filter")
    filtered = sdk.chat.completions.create(model=MODEL, messages=user("one two three"))
    assert filtered.choices[0].finish_reason == "content_filter"
    assert filtered.choices[0].message.content == "Echo: one"


def test_scripted_reply_and_tool_calls(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.script({"reply": "Scripted."},
                         {"tool_calls": [{"name": "lookup", "arguments": {"q": "pinned"}}]})
    assert sdk.chat.completions.create(
        model=MODEL, messages=user("x")).choices[0].message.content == "Scripted."
    call = (sdk.chat.completions.create(model=MODEL, messages=user("x")).choices[0]
            .message.tool_calls or [])[0]
    assert call.function.arguments == '{"q":"pinned"}'  # type: ignore[union-attr]
    assert sdk.chat.completions.create(
        model=MODEL, messages=user("x")).choices[0].message.content == "Echo: x"


def test_bad_requests_get_openai_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.chat.completions.create(model="no-such-model", messages=user("hi"))
    assert missing.value.code == "model_not_found"
    cases: list[dict[str, Any]] = [
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "hi"}]},
        {"messages": user("hi"), "stream_options": {"include_usage": True}},
        {"messages": user("hi"), "tool_choice": "required"},
        {"messages": user("hi"), "tools": [WEATHER],
         "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        {"messages": user([{"type": "video", "video": {}}])},
        {"messages": user("hi"), "max_tokens": 0},
        {"messages": user("hi"), "reasoning_effort": "extreme"},
    ]
    for case in cases:
        with pytest.raises(openai.BadRequestError) as err:
            sdk.chat.completions.create(model=MODEL, **case)
        assert err.value.type == "invalid_request_error", case


async def test_async_client(mock_upstream: MockUpstream) -> None:
    async with openai.AsyncOpenAI(base_url=mock_upstream.url, api_key="k", max_retries=0) as c:
        done = await c.chat.completions.create(model="mock-mini", messages=user("async"))
        assert done.choices[0].message.content == "Echo: async"
        stream = await c.chat.completions.create(model="mock-mini", messages=user("async"),
                                                 stream=True)
        pieces = [ch.choices[0].delta.content or "" async for ch in stream]
        assert "".join(pieces) == "Echo: async"
