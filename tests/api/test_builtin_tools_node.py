"""The built-in model's function tools and structured output through the official Node SDK."""

from __future__ import annotations

import pytest

from tests.api.test_openai_node import run_sdk_check
from tests.conftest import KEY_A

pytestmark = pytest.mark.node


def test_node_sdk_tool_round_trip_and_parse(base_url: str) -> None:
    out = run_sdk_check(base_url, KEY_A, "tools_check.mjs")
    responses = out["responses"]
    assert responses["types"] == ["reasoning", "function_call"]
    assert responses["name"] == "get_weather"
    assert responses["arguments"] == {"city": "Paris", "unit": "celsius"}
    assert responses["deltas"] > 1 and responses["joined"] == responses["done"]
    assert '"18 degrees, clear"' in responses["answer"]
    assert responses["call_id"] in responses["answer"]
    assert out["parse"] == {"value": 47, "expression": "17 * 3 - 4"}
    chat = out["chat"]
    assert chat["finish_reason"] == "tool_calls" and chat["name"] == "get_weather"
    assert chat["arguments"] == chat["parsed_arguments"] == {"city": "Oslo",
                                                             "unit": "fahrenheit"}
    assert '"25 F, windy"' in chat["answer"]
    assert out["chatParse"] == {"value": 42}
    assert out["unfillable"] == {"name": "BadRequestError", "status": 400,
                                 "param": "text.format.schema.properties.colour"}
