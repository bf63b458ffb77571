"""Structured output: the built-in model's answer as a JSON document of the caller's schema."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.core.turns import Turn
from app.errors import InvalidRequest
from app.matriz.nodes import reason
from app.matriz.structured import OutputFormat, chat_format, render, responses_format


def schema_format(schema: dict[str, Any], strict: bool = False) -> OutputFormat:
    fmt = responses_format({"format": {"type": "json_schema", "name": "answer",
                                       "schema": schema, "strict": strict}}, "lukhas-matriz")
    assert fmt is not None
    return fmt


def closed(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def test_a_calculation_fills_value_expression_and_explanation_in_their_types() -> None:
    fmt = schema_format(closed(value={"type": "integer"}, expression={"type": "string"},
                               explanation={"type": "string"}), strict=True)
    document = orjson.loads(render(fmt, reason("What is (17*3)-4?", [])))
    assert document == {"value": 47, "expression": "17 * 3 - 4",
                        "explanation": document["explanation"]}
    assert "47" in document["explanation"]
    as_text = schema_format(closed(result={"type": "string"}, steps={"type": "array",
                                                                     "items": {"type": "string"}}))
    document = orjson.loads(render(as_text, reason("What is 1/3?", [])))
    assert document["result"] == "0.333333333333"
    assert document["steps"] and all(isinstance(s, str) for s in document["steps"])
    real = schema_format(closed(answer={"type": "number"}))
    assert orjson.loads(render(real, reason("What is 1/4?", []))) == {"answer": 0.25}


def test_a_recalled_fact_fills_value_quote_and_source_and_a_property_named_after_it() -> None:
    history = [Turn("user", "My name is Ada Lovelace.", "input 1")]
    answer = reason("What is my name?", history)
    fmt = schema_format(closed(name={"type": "string"}, quote={"type": "string"},
                               source={"type": "string", "description": "where it was said"},
                               known={"type": "boolean"},
                               method={"type": "string", "enum": ["arithmetic", "recall"]}))
    assert orjson.loads(render(fmt, answer)) == {
        "name": "Ada Lovelace", "quote": "My name is Ada Lovelace.", "source": "input 1",
        "known": True, "method": "recall"}


def test_a_property_is_read_by_its_description_when_its_name_says_nothing() -> None:
    fmt = schema_format(closed(x={"type": "number", "description": "The numeric result"},
                               y={"type": "string", "description": "A short explanation"}))
    document = orjson.loads(render(fmt, reason("What is 6*7?", [])))
    assert document["x"] == 42 and "42" in document["y"]


def test_a_required_property_it_cannot_fill_is_a_400_naming_it() -> None:
    fmt = schema_format(closed(value={"type": "number"}, colour={"type": "string"}))
    with pytest.raises(InvalidRequest) as raised:
        render(fmt, reason("What is 2+2?", []))
    assert raised.value.param == "text.format.schema.properties.colour"
    assert raised.value.code == "schema_property_not_filled"
    unknown = schema_format(closed(value={"type": "number"}))
    with pytest.raises(InvalidRequest) as raised:
        render(unknown, reason("What is my name?", []))
    assert raised.value.param == "text.format.schema.properties.value"
    assert "I don't know" in raised.value.message
    # An integer cannot hold 1/3, and an enum without the answer's method cannot hold it.
    with pytest.raises(InvalidRequest):
        render(schema_format(closed(value={"type": "integer"})), reason("What is 1/3?", []))
    with pytest.raises(InvalidRequest):
        render(schema_format(closed(method={"enum": ["recall"]})), reason("What is 1+1?", []))


def test_optional_nullable_and_constrained_properties() -> None:
    schema = {"type": "object", "properties": {
        "value": {"type": "number", "maximum": 10}, "source": {"type": ["string", "null"]},
        "quote": {"type": "string"}}, "required": ["value", "source"]}
    assert orjson.loads(render(schema_format(schema), reason("What is 2+3?", []))) == {
        "value": 5, "source": None}
    with pytest.raises(InvalidRequest) as raised:
        render(schema_format(schema), reason("What is 6*7?", []))
    assert raised.value.param == "text.format.schema.properties.value"
    assert raised.value.code == "schema_not_satisfied"


def test_nested_objects_are_filled_too() -> None:
    fmt = schema_format(closed(result=closed(value={"type": "integer"},
                                             expression={"type": "string"})))
    assert orjson.loads(render(fmt, reason("What is 2+2?", []))) == {
        "result": {"value": 4, "expression": "2 + 2"}}


def test_json_object_holds_the_answer_and_what_it_rests_on() -> None:
    fmt = chat_format({"type": "json_object"})
    assert fmt is not None
    document = orjson.loads(render(fmt, reason("What is 2+2?", [])))
    assert document["value"] == 4 and document["expression"] == "2 + 2"
    assert "4" in document["answer"]


@pytest.mark.parametrize(("text", "param"), [
    ({"format": {"type": "json_schema", "schema": closed()}}, "text.format.name"),
    ({"format": {"type": "json_schema", "name": "a", "schema": {"type": "array"}}},
     "text.format.schema.type"),
    ({"format": {"type": "json_schema", "name": "a", "strict": True,
                 "schema": {"type": "object", "properties": {"v": {"type": "number"}}}}},
     "text.format.schema.additionalProperties"),
    ({"format": {"type": "json_schema", "name": "a", "strict": True, "schema": {
        "type": "object", "properties": {"v": {"type": "number"}},
        "additionalProperties": False}}}, "text.format.schema.required"),
    ({"format": {"type": "yaml"}}, "text.format.type"),
    ({"format": {"type": "text"}, "verbosity": "low"}, "text.verbosity"),
])
def test_a_format_that_cannot_be_honoured_is_a_400_naming_it(text: dict[str, Any],
                                                             param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        responses_format(text, "lukhas-matriz")
    assert raised.value.param == param


def test_chat_names_its_own_fields() -> None:
    with pytest.raises(InvalidRequest) as raised:
        chat_format({"type": "json_schema", "json_schema": {"name": "a", "schema": {
            "type": "object", "properties": {"v": {"type": "nope"}}}}})
    assert raised.value.param == "response_format.json_schema.schema.properties.v.type"
    assert responses_format({"format": {"type": "text"}}, "m") is None
    assert chat_format({"type": "text"}) is None
