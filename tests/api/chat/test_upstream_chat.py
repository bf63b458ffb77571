"""`/v1/chat/completions` with a routed model: passed through to the upstream, pipeline around."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-chat-upstream-key")
    yield


async def test_a_chat_completion_comes_from_the_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key="sk-chat-upstream-key")
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        done = await app.sdk.chat.completions.create(
            model="gpt-test", temperature=0.2, max_tokens=40, seed=3, stop=["END"],
            messages=[{"role": "system", "content": "Be kind."},
                      {"role": "user", "content": "hello upstream"}])
        assert done.choices[0].message.content == "Echo: hello upstream"
        assert done.model == "gpt-test" and done.id.startswith("chatcmpl-")
        assert done.choices[0].finish_reason == "stop"
        body = a.last()["body"]
        assert body["model"] == "mock-gpt"
        assert (body["temperature"], body["max_tokens"], body["seed"], body["stop"]) == (
            0.2, 40, 3, ["END"])
        assert body["messages"] == [{"role": "system", "content": "Be kind."},
                                    {"role": "user", "content": "hello upstream"}]
        # A caller who does not stream gets the upstream's whole answer, asked for as such.
        assert "store" not in body and "stream" not in body
        assert done.usage is not None and done.usage.completion_tokens == 3


async def test_a_streamed_chat_completion_is_relabelled_as_ours(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        stream = await app.sdk.chat.completions.create(
            model="gpt-test", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "several words to stream"}])
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "Echo: several words to stream"
        assert {c.model for c in chunks} == {"gpt-test"}
        assert len({c.id for c in chunks}) == 1
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5


async def test_chat_sessions_reach_the_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        session = {"x-lukhas-session": "chat-session-1"}
        await app.sdk.chat.completions.create(
            model="gpt-test", extra_headers=session,
            messages=[{"role": "user", "content": "I live in Lisbon."}])
        await app.sdk.chat.completions.create(
            model="gpt-test", extra_headers=session,
            messages=[{"role": "user", "content": "Where do I live?"}])
        assert a.last()["body"]["messages"] == [
            {"role": "user", "content": "I live in Lisbon."},
            {"role": "assistant", "content": "Echo: I live in Lisbon."},
            {"role": "user", "content": "Where do I live?"}]


class City(BaseModel):
    name: str
    country: str


async def test_structured_chat_output_passes_through(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        parsed = await app.sdk.chat.completions.parse(
            model="gpt-test", response_format=City,
            messages=[{"role": "user", "content": "a city"}])
        assert isinstance(parsed.choices[0].message.parsed, City)
        assert a.last()["body"]["response_format"]["type"] == "json_schema"


async def test_chat_fields_the_upstream_cannot_get_are_400s(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}],
                functions=[{"name": "f"}])
        assert caught.value.param == "functions"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}], n=2)
        assert caught.value.param == "n"
        assert a.counts().get("/v1/chat/completions", 0) == 0


async def test_a_tier_the_group_refuses_gets_404(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    config = routing(a.url)
    config["groups"]["gpt-test"]["tiers"] = ["T1"]  # the test key is T3
    async with routed_app(pg_url, tmp_path, config) as app:
        with pytest.raises(openai.NotFoundError) as caught:
            await app.sdk.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.code == "model_not_found"
        assert a.counts().get("/v1/chat/completions", 0) == 0


async def test_the_output_policy_sees_every_upstream_delta(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    secret = "sk-" + "a1b2c3d4e5" * 3  # a key looks random: letters and digits
    a.behave("reply", reply=f"Here is the key {secret} for you.")
    a.behave("reply", reply="Begin -----BEGIN RSA PRIVATE KEY----- MIIE and more text")
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        stream = await app.sdk.chat.completions.create(
            model="gpt-test", stream=True, messages=[{"role": "user", "content": "key?"}])
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert secret not in text and text.startswith("Here is the key ")
        blocked = await app.sdk.responses.create(model="gpt-test", input="pem?")
        assert blocked.status == "incomplete"
        assert blocked.incomplete_details is not None
        assert blocked.incomplete_details.reason == "content_filter"
        assert "PRIVATE KEY" not in blocked.output_text


TOOL = {"type": "function", "function": {
    "name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}},
                                     "required": ["q"]}}}


async def test_a_chat_tool_call_round_trip(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("reply", tool_calls=[{"name": "lookup", "arguments": '{"q": "tides"}'}], times=2)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        asked = [{"role": "user", "content": "When is high tide?"}]
        done = await app.sdk.chat.completions.create(
            model="gpt-test", messages=asked, tools=[TOOL])  # type: ignore[list-item]
        assert a.last()["body"]["tools"] == [TOOL]
        call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert done.choices[0].finish_reason == "tool_calls"
        assert call.function.name == "lookup"  # type: ignore[union-attr]
        assert call.function.arguments == '{"q": "tides"}'  # type: ignore[union-attr]
        stream = await app.sdk.chat.completions.create(
            model="gpt-test", messages=asked, tools=[TOOL], stream=True)  # type: ignore[list-item]
        chunks = [c async for c in stream]
        pieces = [tc.function.arguments for c in chunks if c.choices and c.choices[0].delta
                  .tool_calls for tc in c.choices[0].delta.tool_calls if tc.function]
        assert "".join(p or "" for p in pieces) == '{"q": "tides"}'
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
        answer = await app.sdk.chat.completions.create(
            model="gpt-test", tools=[TOOL], messages=[  # type: ignore[list-item]
                *asked, done.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
                {"role": "tool", "tool_call_id": call.id, "content": "at 14:05"}])
        assert answer.choices[0].message.content == "Tool result: at 14:05"
        assert a.last()["body"]["messages"][-1] == {"role": "tool", "tool_call_id": call.id,
                                                    "content": "at 14:05"}


async def test_a_refusal_is_a_refusal_not_text(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("refuse", refusal="I can't help with that.", times=4)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        asked = [{"role": "user", "content": "something bad"}]
        done = await app.sdk.chat.completions.create(model="gpt-test", messages=asked)  # type: ignore[arg-type]
        assert done.choices[0].message.refusal == "I can't help with that."
        assert done.choices[0].message.content is None
        stream = await app.sdk.chat.completions.create(model="gpt-test", messages=asked,  # type: ignore[arg-type]
                                                       stream=True)
        pieces = [c.choices[0].delta.refusal async for c in stream if c.choices]
        assert "".join(p or "" for p in pieces) == "I can't help with that."
        resp = await app.sdk.responses.create(model="gpt-test", input="something bad")
        part = resp.output[0].content[0]  # type: ignore[union-attr]
        assert part.type == "refusal" and part.refusal == "I can't help with that."
        async with app.sdk.responses.stream(model="gpt-test", input="bad again") as events:
            kinds = [e.type async for e in events]
            final = await events.get_final_response()
        assert "response.refusal.delta" in kinds and "response.refusal.done" in kinds
        assert final.output[0].content[0].type == "refusal"  # type: ignore[union-attr]
        replayed = await app.http.get(f"/v1/responses/{final.id}", params={"stream": "true"})
        assert "response.refusal.done" in replayed.text
