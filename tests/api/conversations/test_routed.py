"""A routed model in a conversation: the upstream gets the conversation's items as the
history, as it gets a `previous_response_id` chain (a live server, the mock upstream)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.server import ServerProcess

WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}


@pytest.fixture
def routed(routed_server: tuple[ServerProcess, MockUpstream],
           ) -> Iterator[tuple[openai.OpenAI, MockUpstream]]:
    """The SDK as a fresh caller (no long-term memory to recall), and the upstream."""
    server, upstream = routed_server
    token = httpx.post(f"{server.base_url}/v1/identity/tokens", headers={
        "Authorization": f"Bearer {KEY_A}"}, json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()["token"]
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=token,
                       max_retries=0) as sdk:
        yield sdk, upstream


def test_the_upstream_gets_the_conversation_as_history(
        routed: tuple[openai.OpenAI, MockUpstream]) -> None:
    sdk, upstream = routed
    conv = sdk.conversations.create(items=[
        {"role": "developer", "content": "Answer in English."},
        {"role": "user", "content": "My favourite colour is teal."},
        {"role": "assistant", "content": "Noted."}])
    first = sdk.responses.create(model="gpt-test", input="hello there", conversation=conv.id,
                                 instructions="Be brief.")
    assert first.output_text == "Echo: hello there"
    assert first.conversation is not None and first.conversation.id == conv.id
    assert upstream.last()["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": "My favourite colour is teal."},
        {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "hello there"}]
    # Streamed, the next turn reads the first's input and output too.
    with sdk.responses.stream(model="gpt-test", input="and again",
                              conversation={"id": conv.id}) as stream:
        final = stream.get_final_response()
    assert final.output_text == "Echo: and again"
    assert upstream.last()["body"]["messages"][-3:] == [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "Echo: hello there"},
        {"role": "user", "content": "and again"}]
    listed = list(sdk.conversations.items.list(conv.id, order="asc"))
    assert len(listed) == 7 and listed[-1].id == final.output[-1].id
    assert listed[4].id == first.output[-1].id


def test_a_function_call_round_trip_in_a_conversation(
        routed: tuple[openai.OpenAI, MockUpstream]) -> None:
    sdk, upstream = routed
    upstream.behave("reply", tool_calls=[{"name": "get_weather",
                                          "arguments": '{"city": "Paris"}'}])
    conv = sdk.conversations.create()
    first = sdk.responses.create(model="gpt-test", input="Weather in Paris?",
                                 conversation=conv.id, tools=[WEATHER])  # type: ignore[list-item]
    call = first.output[-1]
    assert call.type == "function_call"
    stored_call = sdk.conversations.items.retrieve(call.id, conversation_id=conv.id)
    assert stored_call.type == "function_call" and stored_call.call_id == call.call_id
    second = sdk.responses.create(
        model="gpt-test", conversation=conv.id, tools=[WEATHER],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id,
                "output": "18 C and sunny"}])
    assert second.output_text == "Tool result: 18 C and sunny"
    sent = upstream.last()["body"]["messages"]
    assert sent[0] == {"role": "user", "content": "Weather in Paris?"}
    assert sent[1]["role"] == "assistant" and sent[1]["tool_calls"][0]["id"] == call.call_id
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id,
                       "content": "18 C and sunny"}
    kinds = [i.type for i in sdk.conversations.items.list(conv.id, order="asc")]
    assert kinds == ["message", "function_call", "function_call_output", "message"]
