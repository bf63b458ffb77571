"""Which calls a question makes under a request's tool plan, and the answer from outputs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.core.turns import Turn
from app.errors import InvalidRequest
from app.matriz.tools.decide import decide, from_outputs, pending_outputs
from app.matriz.tools.plan import ToolPlan, ToolSpec, chat_plan, responses_plan
from app.matriz.toolturns import call_turn, output_turn

WEATHER = {"type": "function", "name": "get_weather",
           "description": "Get the current weather in a given city",
           "parameters": {"type": "object", "properties": {
               "city": {"type": "string"},
               "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
               "required": ["city"]}}
TIME = {"type": "function", "name": "get_time", "description": "The local time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}


def plan(choice: Any = None, parallel: bool | None = None, max_calls: Any = None,
         tools: list[dict[str, Any]] | None = None) -> ToolPlan:
    made = responses_plan("lukhas-matriz", tools or [WEATHER, TIME], choice, parallel,
                          max_calls)
    assert made is not None
    return made


def called(plan_: ToolPlan, question: str, scores: list[float]) -> list[tuple[str, Any]]:
    decision = decide(plan_, question, scores, 0.3)
    return [(c.tool.name, orjson.loads(c.arguments)) for c in decision.calls]


def test_auto_calls_the_tools_above_the_threshold_best_first() -> None:
    assert called(plan(), "Weather and time in Paris?", [0.5, 0.6]) == [
        ("get_time", {"city": "Paris"}), ("get_weather", {"city": "Paris"})]
    assert called(plan(), "What is 2+2?", [0.1, 0.05]) == []


def test_parallel_off_and_max_tool_calls_limit_the_calls() -> None:
    decision = decide(plan(parallel=False), "Weather and time in Paris?", [0.5, 0.6], 0.3)
    assert [c.tool.name for c in decision.calls] == ["get_time"]
    assert any("parallel tool calls are off" in n for n in decision.notes)
    assert len(called(plan(max_calls=1), "Weather and time in Paris?", [0.5, 0.6])) == 1


def test_required_calls_the_closest_tool_and_a_named_choice_that_one() -> None:
    assert called(plan("required"), "What about Paris?", [0.1, 0.2]) == [
        ("get_time", {"city": "Paris"})]
    assert called(plan({"type": "function", "name": "get_weather"}),
                  "Is it warm in Paris, in celsius?", [0.0, 0.9]) == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})]
    allowed = {"type": "allowed_tools", "mode": "required",
               "tools": [{"type": "function", "name": "get_weather"}]}
    assert called(plan(allowed), "In Rome?", [0.0]) == [("get_weather", {"city": "Rome"})]


def test_an_argument_not_found_is_said_under_auto_and_a_400_when_a_call_is_required() -> None:
    decision = decide(plan(), "What's the weather like?", [0.6, 0.1], 0.3)
    assert decision.calls == ()
    assert decision.answer is not None
    assert "get_weather" in decision.answer.text and "'city'" in decision.answer.text
    with pytest.raises(InvalidRequest) as raised:
        decide(plan("required"), "What's the weather like?", [0.6, 0.1], 0.3)
    assert raised.value.param == "tools[0].parameters.properties.city"
    assert raised.value.code == "tool_argument_not_found"


def test_a_value_that_does_not_fit_the_schema_is_never_sent() -> None:
    tool = {**WEATHER, "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 3}}, "required": ["city"]}}
    decision = decide(plan(tools=[tool]), "Weather in Paris", [0.9], 0.3)
    assert decision.calls == ()
    assert decision.answer is not None and "does not fit" in decision.answer.text


def test_tool_choice_none_and_file_search_alone_make_no_plan_or_a_plan_of_none() -> None:
    assert plan("none").mode == "none"
    search = {"type": "file_search", "vector_store_ids": ["idx_1"]}
    assert responses_plan("m", [search], "required", None, None) is None
    assert responses_plan("m", [search, WEATHER], {"type": "file_search"}, None,
                          None).mode == "none"  # type: ignore[union-attr]


@pytest.mark.parametrize(("tools", "choice", "max_calls", "param"), [
    ([{"type": "web_search"}], None, None, "tools[0].type"),
    ([{**WEATHER, "name": "get weather"}], None, None, "tools[0].name"),
    ([{**WEATHER, "parameters": {"type": "array"}}], None, None, "tools[0].parameters.type"),
    ([{**WEATHER, "parameters": {"type": "object", "properties": {"a": {"type": 5}}}}],
     None, None, "tools[0].parameters.properties.a.type"),
    ([{**WEATHER, "strict": True}], None, None, "tools[0].parameters.additionalProperties"),
    ([WEATHER, WEATHER], None, None, "tools[1]"),
    ([WEATHER], {"type": "function", "name": "nope"}, None, "tool_choice"),
    ([WEATHER], {"type": "allowed_tools", "mode": "required",
                 "tools": [{"type": "function", "name": "nope"}]}, None, "tool_choice.tools[0]"),
    ([], "required", None, "tool_choice"),
    ([WEATHER], "sometimes", None, "tool_choice"),
    ([WEATHER], None, 0, "max_tool_calls"),
    ([{**WEATHER, "cache": True}], None, None, "tools[0].cache"),
    ([{**WEATHER, "parameters": {"type": "object", "properties": {
        "code": {"type": "string", "pattern": "^(a+)+$"}}}}], None, None, "tools[0].parameters"),
    ([{**WEATHER, "parameters": {"type": "object", "patternProperties": {"[": {}}}}], None,
     None, "tools[0].parameters"),
])
def test_what_cannot_be_honoured_is_a_400_naming_it(
        tools: list[dict[str, Any]], choice: Any, max_calls: Any, param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        responses_plan("lukhas-matriz", tools, choice, None, max_calls)
    assert raised.value.param == param


def test_the_chat_shape_is_read_too() -> None:
    tool = {"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}
    made = chat_plan("m", [tool], {"type": "function", "function": {"name": "get_weather"}},
                     False)
    assert made is not None and made.forced == "get_weather" and not made.parallel
    allowed = {"type": "allowed_tools", "allowed_tools": {
        "mode": "auto", "tools": [{"type": "function", "function": {"name": "get_weather"}}]}}
    assert chat_plan("m", [tool], allowed, None).mode == "auto"  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest) as raised:
        chat_plan("m", [{"type": "function", "function": {"name": "x", "parameters": 3}}],
                  None, None)
    assert raised.value.param == "tools[0].function.parameters"


def test_the_answer_quotes_each_output_and_cites_its_call() -> None:
    history = [Turn("user", "What's the weather in Paris?", "input 1"),
               Turn("assistant", "", "resp_1 output"),
               call_turn("call_1", "get_weather", '{"city":"Paris"}', "resp_1 output"),
               output_turn("call_1", "18 °C and sunny", "input 1")]
    outputs = pending_outputs(history)
    assert [t.role for t in outputs] == ["function_call_output"]
    answer = from_outputs(outputs, history)
    assert answer.text == ('For "What\'s the weather in Paris?", get_weather with '
                           '{"city":"Paris"} returned: "18 °C and sunny" [call_1].')
    assert answer.citations == ("call_1",)
    assert answer.finding is not None and answer.finding.quote == "18 °C and sunny"
    # Once the user speaks again, the outputs are no longer pending.
    assert pending_outputs([*history, Turn("user", "Thanks!", "input 2")]) == []


def test_specs_keep_where_their_schema_was() -> None:
    spec = plan().tools[0]
    assert isinstance(spec, ToolSpec) and spec.param == "tools[0].parameters"


def test_a_schema_nested_past_the_bound_is_a_400_not_a_recursion_error() -> None:
    schema: dict[str, Any] = {"type": "integer"}
    for _ in range(40):
        schema = {"type": "object", "properties": {"k": schema}}
    with pytest.raises(InvalidRequest) as raised:
        responses_plan("m", [{**WEATHER, "parameters": schema}], None, None, None)
    assert raised.value.param == "tools[0].parameters"
    assert "32 levels" in raised.value.message
