"""The built-in model's function tools and structured output through the official Python
SDK, over HTTP: a tool round trip on both APIs, streamed and not, and `parse()`."""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
import openai
import pytest
from pydantic import BaseModel

WEATHER: dict[str, Any] = {
    "type": "function", "name": "get_weather",
    "description": "Get the current weather in a given city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]},
}
CHAT_WEATHER = {"type": "function", "function": {k: v for k, v in WEATHER.items()
                                                 if k != "type"}}
MODEL = "lukhas-matriz"


def test_responses_tool_round_trip(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, tools=[WEATHER],  # type: ignore[list-item]
                                    input="What's the weather in Paris in celsius?")
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and first.status == "completed"
    call = calls[0]
    assert call.name == "get_weather" and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "celsius"}
    assert first.output_text == ""
    # The continuation is the tool's output alone, chained to the call.
    second = client.responses.create(model=MODEL, previous_response_id=first.id,
                                     tools=[WEATHER],  # type: ignore[list-item]
                                     input=[{"type": "function_call_output",
                                             "call_id": call.call_id,
                                             "output": "18 degrees and sunny"}])
    assert '"18 degrees and sunny"' in second.output_text
    assert call.call_id in second.output_text
    assert not any(item.type == "function_call" for item in second.output)


def test_responses_tool_call_streams_its_arguments(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, tools=[WEATHER],  # type: ignore[list-item]
                                 input="Is it raining in Lisbon?") as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert "response.function_call_arguments.delta" in types
    assert types.index("response.function_call_arguments.done") > types.index(
        "response.function_call_arguments.delta")
    deltas = "".join(e.delta for e in events
                     if e.type == "response.function_call_arguments.delta")
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(deltas) == json.loads(done.arguments) == {"city": "Lisbon"}
    assert [item.type for item in final.output] == ["reasoning", "function_call"]
    stored = client.responses.retrieve(final.id)
    assert stored.output[1].type == "function_call"


def test_tool_choice_none_required_and_a_missing_argument(client: openai.OpenAI) -> None:
    tools: Any = [WEATHER]
    plain = client.responses.create(model=MODEL, tools=tools, tool_choice="none",
                                    input="What's the weather in Paris?")
    assert not any(item.type == "function_call" for item in plain.output)
    unrelated = client.responses.create(model=MODEL, tools=tools, input="What is 2+2?")
    assert "4" in unrelated.output_text
    said = client.responses.create(model=MODEL, tools=tools, input="What's the weather?")
    assert "'city'" in said.output_text and "get_weather" in said.output_text
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=MODEL, tools=tools, tool_choice="required",
                                input="What's the weather?")
    assert raised.value.body["param"] == "tools[0].parameters.properties.city"  # type: ignore[index]


def test_chat_tool_round_trip_streamed_and_not(client: openai.OpenAI) -> None:
    question = {"role": "user", "content": "What is the weather in Oslo?"}
    done = client.chat.completions.create(model=MODEL, messages=[question],  # type: ignore[list-item]
                                          tools=[CHAT_WEATHER])  # type: ignore[list-item]
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}  # type: ignore[union-attr]
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[question], tools=[CHAT_WEATHER],  # type: ignore[list-item]
        stream=True))
    pieces = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    assert len(pieces) > 1 and pieces[0].id and pieces[0].function.name == "get_weather"
    assert json.loads("".join(p.function.arguments or "" for p in pieces)) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    answer = client.chat.completions.create(model=MODEL, tools=[CHAT_WEATHER], messages=[  # type: ignore[list-item]
        question, choice.message.model_dump(exclude_none=True),  # type: ignore[list-item]
        {"role": "tool", "tool_call_id": calls[0].id, "content": "-3 °C, snow"}])
    assert '"-3 °C, snow"' in (answer.choices[0].message.content or "")
    assert answer.choices[0].finish_reason == "stop"


class Calculation(BaseModel):
    value: float
    expression: str
    explanation: str


class Recalled(BaseModel):
    name: str
    quote: str
    source: str


def test_responses_parse(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model=MODEL, input="What is (17*3)-4?",
                                    text_format=Calculation)
    assert parsed.output_parsed == Calculation(value=47, expression="17 * 3 - 4",
                                               explanation=parsed.output_parsed.explanation)  # type: ignore[union-attr]
    first = client.responses.create(model=MODEL, input="My name is Ada Lovelace.")
    recalled = client.responses.parse(model=MODEL, input="What is my name?",
                                      previous_response_id=first.id, text_format=Recalled)
    assert recalled.output_parsed is not None
    assert recalled.output_parsed.name == "Ada Lovelace"
    assert recalled.output_parsed.quote == "My name is Ada Lovelace."
    assert recalled.output_parsed.source.startswith(first.id)


class Colour(BaseModel):
    colour: str


def test_a_schema_it_cannot_fill_is_a_400_naming_the_property(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.parse(model=MODEL, input="What is 2+2?", text_format=Colour)
    assert raised.value.body["param"] == "text.format.schema.properties.colour"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.parse(model=MODEL, response_format=Colour, messages=[
            {"role": "user", "content": "What is 2+2?"}])
    assert raised.value.body["param"] == (  # type: ignore[index]
        "response_format.json_schema.schema.properties.colour")


class GetWeather(BaseModel):
    city: str
    unit: Literal["celsius", "fahrenheit"]


def test_chat_parse_of_a_document_and_of_strict_tool_arguments(client: openai.OpenAI) -> None:
    done = client.chat.completions.parse(model=MODEL, response_format=Calculation, messages=[
        {"role": "user", "content": "What is 6*7?"}])
    assert done.choices[0].message.parsed is not None
    assert done.choices[0].message.parsed.value == 42
    called = client.chat.completions.parse(
        model=MODEL, tools=[openai.pydantic_function_tool(GetWeather)],
        messages=[{"role": "user", "content": "Weather in Rome in fahrenheit?"}])
    call = called.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.parsed_arguments == GetWeather(city="Rome", unit="fahrenheit")  # type: ignore[union-attr]
    obj = client.chat.completions.create(model=MODEL, response_format={"type": "json_object"},
                                         messages=[{"role": "user", "content": "What is 2+2?"}])
    assert json.loads(obj.choices[0].message.content or "")["value"] == 4


@pytest.mark.parametrize(("body", "param"), [
    ({"functions": [{"name": "f"}]}, "functions"),
    ({"function_call": "auto"}, "function_call"),
    ({"tools": [{"type": "custom", "custom": {"name": "f"}}]}, "tools[0].type"),
    ({"tools": [CHAT_WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
     "tool_choice"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a"}}},
     "response_format.json_schema.schema"),
    ({"messages": [{"role": "function", "name": "f", "content": "1"}]}, "messages[0].role"),
])
def test_chat_fields_the_model_cannot_honour_are_a_400_naming_them(
        http: httpx.Client, body: dict[str, Any], param: str) -> None:
    sent = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **body}
    resp = http.post("/v1/chat/completions", json=sent)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param
