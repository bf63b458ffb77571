"""The built-in provider calls tools the question matches, streams their arguments, answers
from their outputs, and writes its answer as JSON when asked to."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.core.turns import Turn
from app.embeddings.base import Vectors
from app.embeddings.hashing import HashingEmbedder
from app.errors import InvalidRequest
from app.matriz.contract import Event, ReasoningDelta, TextDelta, ToolCallDelta
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.builtin import BuiltinProvider
from app.matriz.structured import responses_format
from app.matriz.tools.match import ToolMatcher
from app.matriz.tools.plan import ToolPlan, responses_plan
from app.matriz.toolturns import call_turn, output_turn

WEATHER = {"type": "function", "name": "get_weather",
           "description": "Get the current weather in a given city",
           "parameters": {"type": "object", "properties": {
               "city": {"type": "string"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["city"]}}
EMAIL = {"type": "function", "name": "send_email", "description": "Send an email",
         "parameters": {"type": "object", "properties": {
             "to": {"type": "string"}, "body": {"type": "string"}}, "required": ["to", "body"]}}


def provider() -> BuiltinProvider:
    hashing = HashingEmbedder()

    async def embed(texts: list[str]) -> Vectors:
        return hashing.embed(texts)

    return BuiltinProvider(128_000, ToolMatcher(hashing.id, embed))


def tools(choice: Any = None, parallel: bool | None = None) -> ToolPlan | None:
    return responses_plan("lukhas-matriz", [WEATHER, EMAIL], choice, parallel, None)


async def run(question: str, plan: ToolPlan | None = None, history: tuple[Turn, ...] = (),
              fmt: dict[str, Any] | None = None) -> tuple[list[Event], ThoughtOutcome]:
    outcome = ThoughtOutcome()
    output_format = None if fmt is None else responses_format({"format": fmt}, "m")
    events = [e async for e in provider().stream(ThoughtInput(
        "lukhas-matriz", None, history, question, tools=plan, output_format=output_format),
        outcome)]
    return events, outcome


def calls(events: list[Event]) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, ToolCallDelta):
            entry = found.setdefault(e.index, {"call_id": e.call_id, "name": e.name,
                                               "arguments": ""})
            entry["arguments"] += e.arguments
    return list(found.values())


async def test_a_matching_question_is_a_call_streamed_in_pieces() -> None:
    events, outcome = await run("What is the weather in Paris in celsius?", tools())
    made = calls(events)
    assert [(c["name"], orjson.loads(c["arguments"])) for c in made] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert made[0]["call_id"].startswith("call_")
    assert sum(isinstance(e, ToolCallDelta) for e in events) > 2
    assert not any(isinstance(e, TextDelta) for e in events)
    assert outcome.finish_reason == "tool_calls" and outcome.node == "tools"
    summary = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    assert "get_weather matches the question" in summary and 'city = "Paris"' in summary


async def test_a_question_that_matches_no_tool_is_answered_as_usual() -> None:
    events, outcome = await run("What is 2+2?", tools())
    assert calls(events) == []
    assert "4" in "".join(e.text for e in events if isinstance(e, TextDelta))
    assert outcome.node == "arithmetic" and outcome.finish_reason is None


async def test_none_never_calls_and_required_always_does() -> None:
    events, _ = await run("What is the weather in Paris?", tools("none"))
    assert calls(events) == []
    events, _ = await run("What is 2+2 in Paris?", tools("required"))
    assert [c["name"] for c in calls(events)] == ["get_weather"]


async def test_several_matches_are_several_calls_only_when_parallel() -> None:
    question = 'Weather in Oslo, then send an email to ann@example.org saying "pack a coat"'
    events, _ = await run(question, tools())
    assert sorted(c["name"] for c in calls(events)) == ["get_weather", "send_email"]
    assert [c["call_id"] for c in calls(events)] == list(dict.fromkeys(
        c["call_id"] for c in calls(events)))
    events, _ = await run(question, tools(parallel=False))
    assert len(calls(events)) == 1


async def test_a_missing_argument_is_said_or_under_a_required_call_a_400() -> None:
    events, outcome = await run("What is the weather like?", tools())
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "get_weather" in text and "'city'" in text and outcome.node == "tools"
    with pytest.raises(InvalidRequest) as raised:
        await run("What is the weather like?", tools({"type": "function",
                                                      "name": "get_weather"}))
    assert raised.value.param == "tools[0].parameters.properties.city"


async def test_given_the_output_it_answers_from_it_quoting_it() -> None:
    history = (Turn("user", "What is the weather in Paris?", "resp_1 input 1"),
               call_turn("call_9", "get_weather", '{"city":"Paris"}', "resp_1 output"),
               output_turn("call_9", '{"temperature": 18, "sky": "clear"}', "input 1"))
    events, outcome = await run("", tools(), history)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert '"{"temperature": 18, "sky": "clear"}" [call_9]' in text
    assert calls(events) == [] and outcome.node == "tools"
    # As JSON: the output is the value and the quote, its call the source.
    fmt = {"type": "json_schema", "name": "w", "schema": {
        "type": "object", "properties": {"quote": {"type": "string"},
                                         "source": {"type": "string"}},
        "required": ["quote", "source"], "additionalProperties": False}}
    events, _ = await run("", tools(), history, fmt)
    assert orjson.loads("".join(e.text for e in events if isinstance(e, TextDelta))) == {
        "quote": '{"temperature": 18, "sky": "clear"}', "source": "call_9"}


async def test_the_answer_as_a_json_document_streams_in_pieces() -> None:
    fmt = {"type": "json_schema", "name": "sum", "schema": {
        "type": "object", "properties": {"value": {"type": "number"}},
        "required": ["value"]}}
    events, _ = await run("What is 6*7?", None, (), fmt)
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) > 1 and orjson.loads("".join(texts)) == {"value": 42}
