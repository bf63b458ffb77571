"""Slot filling: a tool's arguments from the question's own words, never invented."""

from __future__ import annotations

from typing import Any

import pytest

from app.matriz.tools.slots import MAX_CHARS, fill, words

WEATHER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location"],
}


def obj(required: list[str] | None = None, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required}


@pytest.mark.parametrize(("question", "expected"), [
    ("What's the weather in Paris?", {"location": "Paris"}),
    ("What is the weather like in San Francisco, CA in fahrenheit?",
     {"location": "San Francisco, CA", "unit": "fahrenheit"}),
    ("Weather in Tokyo in °C please", {"location": "Tokyo", "unit": "celsius"}),
    ("Is it cold in Rio de Janeiro? Answer in Celsius.",
     {"location": "Rio de Janeiro", "unit": "celsius"}),
    ("How is the weather at Stratford-upon-Avon today?", {"location": "Stratford-upon-Avon"}),
])
def test_a_place_is_the_capitalised_name_after_in_and_the_unit_a_named_enum_value(
        question: str, expected: dict[str, Any]) -> None:
    filled = fill(WEATHER, question)
    assert filled.arguments == expected
    assert filled.missing == []


def test_an_enum_value_is_never_taken_for_a_place() -> None:
    assert fill(WEATHER, "What's the weather, in Celsius?").missing == ["location"]
    assert fill(WEATHER, "Weather in Celsius for Lima?").arguments == {
        "location": "Lima", "unit": "celsius"}


def test_a_required_argument_the_question_does_not_give_is_missing_not_invented() -> None:
    filled = fill(WEATHER, "How warm is it today?")
    assert filled.arguments == {}
    assert filled.missing == ["location"]
    # The first word of a sentence is capitalised without being a place.
    assert fill(WEATHER, "Weather please, in celsius").missing == ["location"]


def test_an_optional_argument_is_left_out_a_nullable_one_is_null_a_default_is_used() -> None:
    schema = obj(["location", "unit", "days"], location={"type": "string"},
                 unit={"type": ["string", "null"], "enum": ["celsius", "fahrenheit", None]},
                 days={"type": "integer", "default": 1},
                 detailed={"type": "boolean"})
    filled = fill(schema, "What's the weather in Oslo?")
    assert filled.arguments == {"location": "Oslo", "unit": None, "days": 1}
    assert filled.missing == []


def test_origin_and_destination_follow_from_and_to() -> None:
    schema = obj(origin={"type": "string"}, destination={"type": "string"},
                 date={"type": "string", "format": "date"})
    filled = fill(schema, "Find flights to Los Angeles from New York on 2026-12-24")
    assert filled.arguments == {"origin": "New York", "destination": "Los Angeles",
                                "date": "2026-12-24"}


def test_numbers_go_to_the_property_they_stand_next_to_then_in_order() -> None:
    schema = obj(city={"type": "string"}, days={"type": "integer"},
                 max_results={"type": "integer"})
    filled = fill(schema, "Show 5 results for the 3 day forecast in Lisbon")
    assert filled.arguments == {"city": "Lisbon", "days": 3, "max_results": 5}
    add = obj(a={"type": "number"}, b={"type": "number"})
    assert fill(add, "Add 2.5 and -4").arguments == {"a": 2.5, "b": -4}
    # An integer property never takes 2.5; "three" is a number too.
    assert fill(obj(count={"type": "integer"}), "Roll three dice, 2.5 times").arguments == {
        "count": 3}
    assert fill(obj(n={"type": "integer"}), "about 2.5 of them").missing == ["n"]


def test_thousands_separators_and_currency_codes() -> None:
    schema = obj(amount={"type": "number"}, from_currency={"type": "string"},
                 to_currency={"type": "string"})
    filled = fill(schema, "Convert 1,250.50 GBP to JPY")
    assert filled.arguments == {"amount": 1250.5, "from_currency": "GBP", "to_currency": "JPY"}


def test_an_email_its_quoted_body_and_an_optional_subject_that_does_not_take_the_body() -> None:
    schema = obj(["to", "body"], to={"type": "string", "description": "Recipient email"},
                 subject={"type": "string"}, body={"type": "string"})
    filled = fill(schema, 'Email bob@example.com saying "the build is green"')
    assert filled.arguments == {"to": "bob@example.com", "body": "the build is green"}
    unquoted = fill(schema, "Send ann@example.org a message saying see you at noon.")
    assert unquoted.arguments == {"to": "ann@example.org", "body": "see you at noon"}


def test_ids_urls_tickers_and_values_after_the_property_name() -> None:
    assert fill(obj(order_id={"type": "string"}), "Where is my order #A-1234?").arguments == {
        "order_id": "A-1234"}
    assert fill(obj(url={"type": "string"}), "Fetch https://example.com/a?b=1.").arguments == {
        "url": "https://example.com/a?b=1"}
    assert fill(obj(ticker={"type": "string"}), "How is AAPL doing?").arguments == {
        "ticker": "AAPL"}
    assert fill(obj(priority={"type": "string"}), "Open a ticket with priority high").arguments \
        == {"priority": "high"}
    assert fill(obj(code={"type": "string", "pattern": "^[A-Z]{2}[0-9]{4}$"}),
                "Check in for flight BA2490 please").arguments == {"code": "BA2490"}


def test_a_search_query_is_what_follows_for_or_else_the_whole_message() -> None:
    schema = obj(query={"type": "string"})
    assert fill(schema, "Search the docs for rate limits.").arguments == {"query": "rate limits"}
    assert fill(schema, "rate limits?").arguments == {"query": "rate limits"}


def test_booleans_are_asked_for_or_refused_and_otherwise_missing() -> None:
    schema = obj(city={"type": "string"}, include_forecast={"type": "boolean"})
    assert fill(schema, "Weather in Rome with the forecast").arguments == {
        "city": "Rome", "include_forecast": True}
    assert fill(schema, "Weather in Rome, without a forecast").arguments == {
        "city": "Rome", "include_forecast": False}
    assert fill(schema, "Weather in Rome, don't include the forecast").arguments[
        "include_forecast"] is False
    assert fill(schema, "Weather in Rome").missing == ["include_forecast"]


def test_nested_objects_and_arrays() -> None:
    schema = obj(place=obj(city={"type": "string"}),
                 units={"type": "array", "items": {"type": "string",
                                                   "enum": ["metric", "imperial"]}})
    filled = fill(schema, "Weather in Quito, imperial and metric")
    assert filled.arguments == {"place": {"city": "Quito"}, "units": ["imperial", "metric"]}
    assert fill(schema, "Weather, imperial").missing == ["place.city"]


def test_a_value_is_taken_once() -> None:
    schema = obj(origin={"type": "string", "description": "city"},
                 destination={"type": "string", "description": "city"})
    filled = fill(schema, "Trains from Lyon")
    assert filled.arguments == {"origin": "Lyon"}
    assert filled.missing == ["destination"]


def test_only_the_start_of_a_long_message_is_read() -> None:
    assert fill(WEATHER, "What's the weather in Paris?" + " and" * 2000).arguments == {
        "location": "Paris"}
    assert fill(WEATHER, "x " * MAX_CHARS + "in Paris").missing == ["location"]
    # Long runs of what the readers look for end: no reader tries every split of them.
    for filler in ("for " * 3000, "saying " + " " * 3000 + "x", "order" + "a" * 3000):
        assert fill(obj(query={"type": "string"}, order_id={"type": "string"},
                        body={"type": "string"}), filler).missing is not None


def test_names_are_split_into_words() -> None:
    assert words("fromCurrency") == ["from", "currency"]
    assert words("max_results") == ["max", "results"]
    assert words("getHTTPStatus2") == ["get", "http", "status", "2"]
