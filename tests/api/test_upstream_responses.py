"""`/v1/responses` with a routed model: through the pipeline to a real mock upstream."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing

UPSTREAM_KEY = "sk-upstream-test-key-123"


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, UPSTREAM_KEY)
    yield


async def test_a_response_comes_from_the_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory(api_key=UPSTREAM_KEY)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(
            model="gpt-test", input="hello there", instructions="Be brief.",
            temperature=0.5, top_p=0.9, max_output_tokens=50,
            extra_body={"stop": ["\n\n"], "seed": 7})
        assert resp.status == "completed"
        assert resp.output_text == "Echo: hello there"
        assert resp.model == "gpt-test"
        sent = a.last()
        assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
        body = sent["body"]
        assert body["model"] == "mock-gpt"
        assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "hello there"}]
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.5, 0.9, 50)
        assert (body["stop"], body["seed"]) == (["\n\n"], 7)
        assert "stream" not in body  # not streamed to the caller: one whole answer
        # Usage as the upstream counted it (the mock: 3 pieces out, 13 tokens in).
        assert resp.usage is not None
        assert (resp.usage.input_tokens, resp.usage.output_tokens) == (13, 3)
        stored = await app.sdk.responses.retrieve(resp.id)
        assert stored.output_text == "Echo: hello there"
        metrics = (await app.http.get("/metrics")).text
        assert 'lukhas_upstream_requests_total{group="gpt-test",outcome="ok",upstream="a"} 1.0' \
            in metrics
        for line in ('lukhas_upstream_tokens_total{group="gpt-test",kind="input"} 13.0',
                     'lukhas_upstream_tokens_total{group="gpt-test",kind="output"} 3.0',
                     'lukhas_upstream_ttft_seconds_count{group="gpt-test",upstream="a"} 1.0',
                     'lukhas_upstream_latency_seconds_count{group="gpt-test",upstream="a"} 1.0'):
            assert line in metrics


async def test_a_streamed_response_arrives_as_deltas(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        # Long enough to leave the Guardian's holdback window in more than one piece.
        words = " ".join(["stream these words please"] * 12)
        async with app.sdk.responses.stream(model="gpt-test", input=words) as stream:
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            final = await stream.get_final_response()
        assert "".join(deltas) == f"Echo: {words}"
        assert len(deltas) > 1
        body = a.last()["body"]
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert final.status == "completed"


async def test_the_upstream_gets_the_session_and_long_term_memory(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        first = await app.sdk.responses.create(model="gpt-test",
                                               input="My favourite colour is teal.")
        await app.sdk.responses.create(model="gpt-test", input="And my dog is Rex.",
                                       previous_response_id=first.id)
        chain = a.last()["body"]["messages"]
        assert chain[-3:] == [
            {"role": "user", "content": "My favourite colour is teal."},
            {"role": "assistant", "content": "Echo: My favourite colour is teal."},
            {"role": "user", "content": "And my dog is Rex."}]
        # A new conversation: what the caller said before comes back as a system message.
        await app.sdk.responses.create(model="gpt-test", input="What is my favourite colour?")
        fresh = a.last()["body"]["messages"]
        assert fresh[-1] == {"role": "user", "content": "What is my favourite colour?"}
        system = [m["content"] for m in fresh if m["role"] == "system"]
        assert len(system) == 1 and "My favourite colour is teal." in system[0]


async def test_recall_off_for_the_group_sends_no_memory(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    config = routing(a.url)
    config["groups"]["gpt-test"]["memory"] = {"recall": False}
    async with routed_app(pg_url, tmp_path, config) as app:
        await app.sdk.responses.create(model="gpt-test", input="My favourite colour is teal.")
        await app.sdk.responses.create(model="gpt-test", input="What is my favourite colour?")
        assert [m["role"] for m in a.last()["body"]["messages"]] == ["user"]


class Colour(BaseModel):
    name: str
    hex: str


async def test_structured_output_goes_as_response_format(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        parsed = await app.sdk.responses.parse(model="gpt-test", input="a colour",
                                               text_format=Colour)
        assert isinstance(parsed.output_parsed, Colour)
        fmt = a.last()["body"]["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Colour"
        assert fmt["json_schema"]["schema"]["required"] == ["name", "hex"]


async def test_logprobs_are_asked_for_and_returned(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(
            model="gpt-test", input="two words", top_logprobs=2,
            include=["message.output_text.logprobs"])
        body = a.last()["body"]
        assert (body["logprobs"], body["top_logprobs"]) == (True, 2)
        part = resp.output[0].content[0]  # type: ignore[union-attr]
        assert part.type == "output_text" and part.logprobs
        assert "".join(lp.token for lp in part.logprobs) == resp.output_text


async def test_a_field_the_upstream_cannot_honour_is_a_400_naming_it(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="gpt-test", input="hi",
                                           extra_body={"prompt_cache_key": "k"})
        assert caught.value.param == "prompt_cache_key"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="gpt-test", input="hi", tools=[
                {"type": "web_search"}])
        assert caught.value.param == "tools[0]"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="gpt-test", input="hi",
                                           max_output_tokens=5000)
        assert caught.value.param == "max_output_tokens"
        assert a.counts().get("/v1/chat/completions", 0) == 0
        # The built-in model refuses what it cannot do too.
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="lukhas-matriz", input="hi", tools=[
                {"type": "web_search"}])
        assert caught.value.param == "tools[0].type"


async def test_upstream_finish_reasons_make_incomplete_responses(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        cut = await app.sdk.responses.create(model="gpt-test", max_output_tokens=2,
                                             input="a much longer question than two words")
        assert cut.status == "incomplete" and cut.incomplete_details is not None
        assert cut.incomplete_details.reason == "max_output_tokens"
        assert cut.output_text == "Echo: a"
        a.behave("content_filter")
        filtered = await app.sdk.responses.create(model="gpt-test", input="something")
        assert filtered.status == "incomplete" and filtered.incomplete_details is not None
        assert filtered.incomplete_details.reason == "content_filter"


async def test_an_upstream_speaking_the_responses_api_is_called_natively(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    config = routing(a.url)
    config["upstreams"]["a"]["api"] = "responses"
    async with routed_app(pg_url, tmp_path, config) as app:
        first = await app.sdk.responses.create(model="gpt-test", input="native please",
                                               instructions="Be brief.", max_output_tokens=30)
        assert first.output_text == "Echo: native please"
        body = a.last("/v1/responses")["body"]
        assert body["model"] == "mock-gpt" and body["store"] is False
        assert body["instructions"] == "Be brief." and body["max_output_tokens"] == 30
        assert body["input"] == [{"role": "user", "content": "native please"}]
        async with app.sdk.responses.stream(model="gpt-test", input="and streamed",
                                            previous_response_id=first.id) as stream:
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            final = await stream.get_final_response()
        assert "".join(deltas) == "Echo: and streamed" and final.status == "completed"
        assert a.last("/v1/responses")["body"]["input"][-3:] == [
            {"role": "user", "content": "native please"},
            {"role": "assistant", "content": "Echo: native please"},
            {"role": "user", "content": "and streamed"}]
        chat = await app.sdk.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "via chat"}])
        assert chat.choices[0].message.content == "Echo: via chat"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(
                model="gpt-test", seed=1, messages=[{"role": "user", "content": "x"}])
        assert caught.value.param == "seed"
        assert a.counts().get("/v1/chat/completions", 0) == 0


async def test_a_native_responses_tool_round_trip(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("reply", tool_calls=[{"name": "get_weather", "arguments": '{"city": "Rome"}'}])
    config = routing(a.url)
    config["upstreams"]["a"]["api"] = "responses"
    async with routed_app(pg_url, tmp_path, config) as app:
        first = await app.sdk.responses.create(model="gpt-test", input="Weather in Rome?",
                                               tools=[WEATHER])  # type: ignore[list-item]
        call = first.output[-1]
        assert call.type == "function_call" and call.arguments == '{"city": "Rome"}'
        assert a.last("/v1/responses")["body"]["tools"] == [WEATHER]
        second = await app.sdk.responses.create(
            model="gpt-test", previous_response_id=first.id,
            tools=[WEATHER],  # type: ignore[list-item]
            input=[{"type": "function_call_output", "call_id": call.call_id,
                    "output": "25 C"}])
        assert second.output_text == "Tool result: 25 C"


WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}


async def test_a_function_tool_round_trip(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("reply", tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}'}])
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        first = await app.sdk.responses.create(
            model="gpt-test", input="Weather in Paris?", tools=[WEATHER],  # type: ignore[list-item]
            tool_choice="required")
        body = a.last()["body"]
        assert body["tools"] == [{"type": "function", "function": {
            k: WEATHER[k] for k in ("name", "description", "parameters")}}]
        assert body["tool_choice"] == "required"
        calls = [item for item in first.output if item.type == "function_call"]
        assert len(calls) == 1 and calls[0].name == "get_weather"
        assert calls[0].arguments == '{"city": "Paris"}'
        second = await app.sdk.responses.create(
            model="gpt-test", previous_response_id=first.id,
            tools=[WEATHER],  # type: ignore[list-item]
            input=[{"type": "function_call_output", "call_id": calls[0].call_id,
                    "output": "18 C and sunny"}])
        assert second.output_text == "Tool result: 18 C and sunny"
        sent = a.last()["body"]["messages"]
        assert sent[-2]["role"] == "assistant"
        assert sent[-2]["tool_calls"][0]["id"] == calls[0].call_id
        assert sent[-1] == {"role": "tool", "tool_call_id": calls[0].call_id,
                            "content": "18 C and sunny"}


async def test_streamed_function_call_events(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("reply", tool_calls=[{"name": "get_weather", "arguments": '{"city": "Oslo"}'}])
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        async with app.sdk.responses.stream(model="gpt-test", input="Weather in Oslo?",
                                            tools=[WEATHER]) as stream:  # type: ignore[list-item]
            events = [event async for event in stream]
            final = await stream.get_final_response()
        kinds = [e.type for e in events]
        assert "response.function_call_arguments.delta" in kinds
        done = next(e for e in events if e.type == "response.function_call_arguments.done")
        assert done.arguments == '{"city": "Oslo"}'  # type: ignore[union-attr]
        assert final.output[-1].type == "function_call"
        assert final.output[-1].arguments == '{"city": "Oslo"}'  # type: ignore[union-attr]
        replayed = await app.http.get(f"/v1/responses/{final.id}", params={"stream": "true"})
        assert "response.function_call_arguments.done" in replayed.text


PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
         "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_an_image_part_reaches_the_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream],
        api: str) -> None:
    a = mock_upstream_factory()
    config = routing(a.url)
    config["upstreams"]["a"]["api"] = api
    async with routed_app(pg_url, tmp_path, config) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input=[{
            "role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": PIXEL, "detail": "low"}]}])
        assert resp.output_text == "I see 1 image. Echo: What is this?"
        items = await app.sdk.responses.input_items.list(resp.id)
        assert [p.type for p in items.data[0].content] == [  # type: ignore[union-attr]
            "input_text", "input_image"]
        chat = await app.sdk.chat.completions.create(model="gpt-test", messages=[{
            "role": "user", "content": [
                {"type": "text", "text": "And this?"},
                {"type": "image_url", "image_url": {"url": PIXEL}}]}])
        assert chat.choices[0].message.content == "I see 1 image. Echo: And this?"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="lukhas-matriz", input=[{
                "role": "user", "content": [{"type": "input_image", "image_url": PIXEL}]}])
        assert caught.value.code == "unsupported_content"
