"""`POST /v1/responses/compact` for a routed group: its upstream (the real mock server)
summarises the dropped turns; the window keeps the last turns and replays the summary as a
system message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from app.api.responses.compact import SUMMARISE, SUMMARY_LEAD
from app.matriz.tokenizer import count_tokens
from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing
from tests.utils.server import ServerProcess

UPSTREAM_KEY = "sk-upstream-test-key-123"
SUMMARY = "Ada likes teal and is planning three days in Lisbon."


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, UPSTREAM_KEY)
    yield


def _config(url: str, **overrides: Any) -> dict[str, Any]:
    config = routing(url, **overrides)
    # No long-term memory in the upstream's messages: each test checks them whole.
    config["groups"]["gpt-test"]["memory"] = {"recall": False}
    return config


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _echo(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": f"Echo: {text}"}


async def test_the_upstream_summarises_and_the_last_turns_stay(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    said = ["My name is Ada.", "I like teal.", "Plan a trip to Lisbon.", "Make it three days.",
            "Add a museum."]
    async with routed_app(pg_url, tmp_path, _config(a.url)) as app:
        previous = None
        for text in said:
            previous = (await app.sdk.responses.create(
                model="gpt-test", input=text, previous_response_id=previous)).id
        a.behave("reply", reply=SUMMARY)
        compacted = await app.sdk.responses.compact(
            model="gpt-test", previous_response_id=previous, instructions="You plan trips.")

        asked = a.last()
        assert asked["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
        body = asked["body"]
        assert body["model"] == "mock-gpt" and "stream" not in body
        dropped = [m for text in said[:3] for m in (_user(text), _echo(text))]
        assert body["messages"] == [{"role": "system", "content": "You plan trips."},
                                    *dropped, _user(SUMMARISE)]

        kept = [(i.type, i.role, i.content[0].text)  # type: ignore[union-attr]
                for i in compacted.output[:-1]]
        assert kept == [("message", role, text) for said_text in said[3:]
                        for role, text in (("user", said_text),
                                           ("assistant", f"Echo: {said_text}"))]
        assert compacted.output[-1].type == "compaction"
        turns = [t for text in said for t in (text, f"Echo: {text}")]
        assert compacted.usage.input_tokens == count_tokens("You plan trips.") + sum(
            count_tokens(t) for t in turns)
        assert compacted.usage.output_tokens == count_tokens(SUMMARY_LEAD + SUMMARY)

        await app.sdk.responses.create(model="gpt-test", input=[
            *compacted.output, _user("How long is the trip?")])  # type: ignore[list-item]
        context = {"role": "system",
                   "content": f"You plan trips.\n\n{SUMMARY_LEAD}{SUMMARY}"}
        replayed = [context, *[m for text in said[3:] for m in (_user(text), _echo(text))],
                    _user("How long is the trip?")]
        assert a.last()["body"]["messages"] == replayed


async def test_function_calls_stay_with_their_outputs(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    tools = [{"type": "function", "name": "get_weather",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather",
            "arguments": '{"city":"Lisbon"}'}
    async with routed_app(pg_url, tmp_path, _config(a.url)) as app:
        a.behave("reply", reply=SUMMARY)
        compacted = await app.sdk.responses.compact(model="gpt-test", input=[
            _user("My name is Ada."), {"role": "assistant", "content": "Hello, Ada."},
            _user("Weather in Lisbon?"), call,  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
            {"role": "assistant", "content": "It is sunny in Lisbon."}])
        assert [i.type for i in compacted.output] == [
            "message", "function_call", "function_call_output", "message", "compaction"]
        assert a.last()["body"]["messages"] == [
            _user("My name is Ada."), {"role": "assistant", "content": "Hello, Ada."},
            _user(SUMMARISE)]

        await app.sdk.responses.create(model="gpt-test", tools=tools,  # type: ignore[arg-type]
                                       input=[*compacted.output,  # type: ignore[list-item]
                                              _user("Thanks!")])
        messages = a.last()["body"]["messages"]
        assert messages[0] == {"role": "system", "content": SUMMARY_LEAD + SUMMARY}
        assert messages[1] == _user("Weather in Lisbon?")
        assert [c["id"] for c in messages[2]["tool_calls"]] == ["call_1"]
        assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}
        assert messages[4] == {"role": "assistant", "content": "It is sunny in Lisbon."}
        assert messages[5] == _user("Thanks!")


async def test_an_upstream_speaking_the_responses_api_summarises_natively(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    config = _config(a.url)
    config["upstreams"]["a"]["api"] = "responses"
    async with routed_app(pg_url, tmp_path, config) as app:
        a.behave("reply", reply=SUMMARY)
        compacted = await app.sdk.responses.compact(
            model="gpt-test", instructions="You plan trips.",
            input=[_user(f"Turn {i}.") for i in range(6)])
        body = a.last("/v1/responses")["body"]
        assert body["instructions"] == "You plan trips." and body["store"] is False
        assert body["input"] == [*[_user(f"Turn {i}.") for i in range(2)], _user(SUMMARISE)]
        assert len(compacted.output) == 5
        assert compacted.usage.output_tokens == count_tokens(SUMMARY_LEAD + SUMMARY)


async def test_summarising_stays_inside_the_deadline(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    config = _config(a.url, deadline_seconds=1)
    async with routed_app(pg_url, tmp_path, config) as app:
        previous = None
        for text in ("one", "two", "three"):
            previous = (await app.sdk.responses.create(
                model="gpt-test", input=text, previous_response_id=previous)).id
        a.behave("hang", times=None)
        with pytest.raises(openai.APIStatusError) as caught:
            await app.sdk.responses.compact(model="gpt-test", previous_response_id=previous)
        assert caught.value.status_code == 504
        assert caught.value.code == "upstream_timeout"


async def test_a_short_chain_needs_no_summary(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    async with routed_app(pg_url, tmp_path, _config(a.url)) as app:
        compacted = await app.sdk.responses.compact(model="gpt-test", input=[
            _user("Hello."), {"role": "assistant", "content": "Hi!"}])
        assert [i.type for i in compacted.output] == ["message", "message", "compaction"]
        assert a.counts().get("/v1/chat/completions", 0) == 0, "nothing dropped, no call"
        assert compacted.usage.output_tokens == 0
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.compact(model="gpt-test", input="hi", prompt_cache_key="k")
        assert caught.value.param == "prompt_cache_key"  # as for /v1/responses


def test_compaction_through_a_live_server(
        routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    server, upstream = routed_server
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY_A, max_retries=0) as sdk:
        previous = None
        for text in ("My name is Ada.", "I like teal.", "Plan a trip.", "Three days."):
            previous = sdk.responses.create(model="gpt-test", input=text,
                                            previous_response_id=previous).id
        upstream.behave("reply", reply=SUMMARY)
        compacted = sdk.responses.compact(model="gpt-test", previous_response_id=previous)
        assert compacted.object == "response.compaction"
        answer = sdk.responses.create(model="gpt-test", input=[
            *compacted.output, _user("Where am I going?")])  # type: ignore[list-item]
        assert answer.output_text == "Echo: Where am I going?"
    system = [m["content"] for m in upstream.last()["body"]["messages"]
              if m["role"] == "system"]
    assert f"{SUMMARY_LEAD}{SUMMARY}" in system
