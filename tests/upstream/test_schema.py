"""Minimal values from JSON Schemas (structured outputs, tool parameters) validate against them."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field

from tests.utils.upstream.schema import sample


class Item(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}$")
    qty: int = Field(ge=2, le=9, multiple_of=3)
    price: float = Field(gt=0.5)


class Order(BaseModel):
    id: str
    items: list[Item] = Field(min_length=2)
    note: str | None = None
    lines: list[Item | str]


SCHEMAS: dict[str, Any] = {
    "string": {"type": "string", "minLength": 12, "maxLength": 20},
    "formats": {"type": "object", "required": ["at", "mail", "id"], "properties": {
        "at": {"type": "string", "format": "date-time"},
        "mail": {"type": "string", "format": "email"},
        "id": {"type": "string", "format": "uuid"}}},
    "numbers": {"type": "object", "required": ["a", "b", "c"], "properties": {
        "a": {"type": "integer", "minimum": 10, "maximum": 20, "multipleOf": 7},
        "b": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "c": {"type": "integer", "maximum": -5}}},
    "enum_const_bool_null": {"type": "object", "required": ["e", "k", "b", "n"], "properties": {
        "e": {"enum": ["x", "y"]}, "k": {"const": 3}, "b": {"type": "boolean"},
        "n": {"type": "null"}}},
    "nullable": {"type": ["string", "null"], "minLength": 2},
    "array_unique": {"type": "array", "items": {"type": "integer"}, "minItems": 3,
                     "uniqueItems": True},
    "tuple": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}],
              "minItems": 2},
    "refs": {"$defs": {"node": {"type": "object", "required": ["v"], "properties": {
        "v": {"type": "integer"}, "next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"},
    "all_of": {"allOf": [{"type": "object", "required": ["a"], "properties": {
        "a": {"type": "string"}}}, {"required": ["b"], "properties": {"b": {"type": "integer"}}}]},
    "any_of": {"anyOf": [{"type": "null"}, {"type": "object", "required": ["z"],
                                           "properties": {"z": {"type": "boolean"}}}]},
    "min_properties": {"type": "object", "minProperties": 2, "properties": {
        "p": {"type": "string"}, "q": {"type": "string"}, "r": {"type": "string"}}},
    "pydantic": Order.model_json_schema(),
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_sample_validates(name: str) -> None:
    value = sample(SCHEMAS[name], "hello")
    jsonschema_rs.validator_for(SCHEMAS[name]).validate(value)


def test_the_hint_lands_in_the_first_free_string() -> None:
    assert sample({"type": "object", "required": ["n", "s", "t"], "properties": {
        "n": {"type": "integer"}, "s": {"type": "string"}, "t": {"type": "string"}}},
        "the text") == {"n": 0, "s": "the text", "t": "mock"}
    order = Order.model_validate(sample(Order.model_json_schema(), "A-1"))
    assert order.id == "A-1" and len(order.items) == 2
