"""The Responses → chat translation, field by field, and back (docs/routing.md): what the
other routed tests leave out: a named `tool_choice`, `parallel_tool_calls`,
`reasoning.effort`, `json_object`, calls given in the input, reasoning and cached tokens,
a refusal's logprobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing
from tests.utils.upstream.generate import logprob_entries, tokens


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-upstream-test-key-123")
    yield


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "description": f"The {name} tool.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}


async def test_tool_choice_parallel_calls_and_reasoning_effort(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(
            model="gpt-test", input="weather and forecast for Oslo",
            tools=[_tool("weather"), _tool("forecast")],  # type: ignore[list-item]
            tool_choice={"type": "function", "name": "forecast"},
            parallel_tool_calls=False, reasoning={"effort": "high"})
        body = a.last()["body"]
        assert body["tool_choice"] == {"type": "function", "function": {"name": "forecast"}}
        assert body["parallel_tool_calls"] is False
        assert body["reasoning_effort"] == "high"
        assert [t["function"]["name"] for t in body["tools"]] == ["weather", "forecast"]
        calls = [item for item in resp.output if item.type == "function_call"]
        assert [c.name for c in calls] == ["forecast"]
        assert resp.status == "completed"
        assert resp.usage is not None
        assert resp.usage.output_tokens_details.reasoning_tokens == 32  # the mock's "high"


async def test_calls_in_the_input_and_json_object_output(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(
            model="gpt-test", text={"format": {"type": "json_object"}}, input=[
                {"role": "user", "content": "The weather in Oslo, as json?"},
                {"type": "function_call", "call_id": "call_1", "name": "weather",
                 "arguments": '{"city": "Oslo"}'},
                {"type": "function_call_output", "call_id": "call_1", "output": "4 C"}])
        body = a.last()["body"]
        assert body["response_format"] == {"type": "json_object"}
        assert body["messages"][1:] == [
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "4 C"}]
        assert orjson.loads(resp.output_text) == {"echo": "Tool result: 4 C"}
        # The same conversation again: the upstream's prompt cache shows in the usage.
        again = await app.sdk.responses.create(
            model="gpt-test", previous_response_id=resp.id, input="Thanks, in json?",
            text={"format": {"type": "json_object"}})
        assert again.usage is not None and again.usage.input_tokens_details.cached_tokens > 0


async def test_a_refusals_logprobs_go_with_the_refusal_on_chat(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    refusal = "I can't help with that."
    a.behave("refuse", refusal=refusal, times=2)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        asked: Any = [{"role": "user", "content": "something bad"}]
        done = await app.sdk.chat.completions.create(model="gpt-test", messages=asked,
                                                     logprobs=True, top_logprobs=1)
        logprobs = done.choices[0].logprobs
        assert logprobs is not None and logprobs.content is None
        expected = logprob_entries(tokens(refusal), 1)
        assert [lp.model_dump() for lp in logprobs.refusal or []] == expected
        stream = await app.sdk.chat.completions.create(model="gpt-test", messages=asked,
                                                       logprobs=True, top_logprobs=1,
                                                       stream=True)
        chunks = [c async for c in stream if c.choices and c.choices[0].delta.refusal]
        assert [lp.model_dump() for c in chunks for lp in c.choices[0].logprobs.refusal  # type: ignore[union-attr]
                or []] == expected
