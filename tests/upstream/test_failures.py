"""Scripted failures of the mock upstream, as the official OpenAI Python SDK sees them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.utils.mock_upstream import MockUpstream

MODEL = "mock-gpt"
HI = [{"role": "user", "content": "one two three four five six"}]


@pytest.fixture
def sdk(mock_upstream: MockUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=mock_upstream.url, api_key="k", max_retries=0) as c:
        yield c


def ask(client: openai.OpenAI, **kw: Any) -> str | None:
    done = client.chat.completions.create(model=MODEL, messages=HI, **kw)  # type: ignore[arg-type]
    return done.choices[0].message.content


def test_rate_limit_with_retry_after(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("rate_limit", times=2, retry_after=1.5)
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as err:
            ask(sdk)
        assert err.value.status_code == 429 and err.value.code == "rate_limit_exceeded"
        assert err.value.response.headers["retry-after"] == "1.5"
        assert err.value.response.headers["retry-after-ms"] == "1500"
    assert ask(sdk) == "Echo: one two three four five six"


def test_the_sdk_retries_after_the_delay_it_was_given(mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("rate_limit", times=1, retry_after=0.01)
    with openai.OpenAI(base_url=mock_upstream.url, api_key="k", max_retries=2) as client:
        assert ask(client) == "Echo: one two three four five six"
    sent = mock_upstream.requests("/v1/chat/completions")
    assert [r["headers"]["x-stainless-retry-count"] for r in sent] == ["0", "1"]


@pytest.mark.parametrize("behaviour", ["server_error", "bad_gateway", "unavailable"])
def test_server_errors(sdk: openai.OpenAI, mock_upstream: MockUpstream, behaviour: str) -> None:
    mock_upstream.behave(behaviour, should_retry=False)
    with pytest.raises(openai.InternalServerError) as err:
        ask(sdk)
    assert err.value.status_code == {"server_error": 500, "bad_gateway": 502,
                                     "unavailable": 503}[behaviour]
    assert err.value.response.headers["x-should-retry"] == "false"
    assert err.value.type == "server_error"


def test_scripted_bad_request(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("bad_request", message="context_length_exceeded: too long",
                         code="context_length_exceeded", param="messages")
    with pytest.raises(openai.BadRequestError) as err:
        ask(sdk)
    assert err.value.code == "context_length_exceeded" and err.value.param == "messages"
    assert err.value.body == {"message": "context_length_exceeded: too long",  # type: ignore[comparison-overlap]
                              "type": "invalid_request_error", "param": "messages",
                              "code": "context_length_exceeded"}


def test_hang_until_the_client_gives_up(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("hang")
    with pytest.raises(openai.APITimeoutError):
        ask(sdk.with_options(timeout=0.3))
    assert ask(sdk) == "Echo: one two three four five six"  # the hang was spent


def test_hang_for_a_while_then_answer(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("hang", seconds=0.5)
    with pytest.raises(openai.APITimeoutError):
        ask(sdk.with_options(timeout=0.1))
    mock_upstream.behave("delay", first_byte_delay_ms=100)
    assert ask(sdk.with_options(timeout=10)) == "Echo: one two three four five six"


def test_stream_dies_mid_way(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("die", die_after_chunks=3)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in sdk.chat.completions.create(model=MODEL, messages=HI,  # type: ignore[arg-type]
                                                 stream=True):
            received.append(chunk)
    assert len(received) == 3
    mock_upstream.behave("die", die_after_chunks=2, paths="/v1/responses")
    with pytest.raises(openai.APIConnectionError), \
            sdk.responses.stream(model=MODEL, input="hello") as stream:
        for _ in stream:
            pass


def test_stream_ends_without_done(mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("die", die_after_chunks=2, die_mode="eof")
    with httpx.stream("POST", f"{mock_upstream.url}/chat/completions", json={
            "model": MODEL, "messages": HI, "stream": True}) as response:
        frames = [line for line in response.iter_lines() if line]
    assert len(frames) == 2 and "data: [DONE]" not in frames


def test_stream_reports_an_error_mid_way(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("die", die_after_chunks=2, die_mode="error", message="engine died")
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in sdk.chat.completions.create(model=MODEL, messages=HI,  # type: ignore[arg-type]
                                                 stream=True):
            received.append(chunk)
    assert len(received) == 2 and err.value.message == "engine died"
    mock_upstream.behave("die", die_after_chunks=4, die_mode="error", message="engine died")
    with sdk.responses.stream(model=MODEL, input="one two three") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()
    assert [e.sequence_number for e in events] == [0, 1, 2, 3, 4]
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed" and failed.response.error is not None
    assert failed.response.error.code == "server_error"
    assert failed.response.error.message == "engine died"


def test_non_streamed_answer_dropped_mid_body(sdk: openai.OpenAI,
                                              mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("die")
    with pytest.raises(openai.APIConnectionError):
        ask(sdk)


def test_slow_stream(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("slow", chunk_delay_ms=400)
    slow = sdk.with_options(timeout=httpx.Timeout(10, read=0.1))
    stream = slow.chat.completions.create(model=MODEL, messages=HI, stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APITimeoutError):  # the SDK wraps the read timeout mid-stream
        list(stream)
    stream.close()
    mock_upstream.behave("slow", chunk_delay_ms=1)
    pieces = [c.choices[0].delta.content for c in ask_stream(sdk) if c.choices]
    assert "".join(p or "" for p in pieces) == "Echo: one two three four five six"


def ask_stream(client: openai.OpenAI) -> list[Any]:
    return list(client.chat.completions.create(model=MODEL, messages=HI,  # type: ignore[arg-type]
                                               stream=True))


def test_per_request_header(sdk: openai.OpenAI, mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("reply", reply="queued")
    with pytest.raises(openai.RateLimitError) as err:
        ask(sdk, extra_headers={"x-mock-behaviour": "rate_limit; retry_after=0.25"})
    assert err.value.response.headers["retry-after-ms"] == "250"
    header = '{"behaviour": "error", "status": 503, "message": "overloaded"}'
    with pytest.raises(openai.InternalServerError) as failed:
        ask(sdk, extra_headers={"x-mock-behaviour": header})
    assert failed.value.body == {"message": "overloaded", "type": "server_error",  # type: ignore[comparison-overlap]
                                 "param": None, "code": "server_overloaded"}
    assert ask(sdk) == "queued"  # headers do not spend queued behaviours
    with pytest.raises(openai.BadRequestError):
        ask(sdk, extra_headers={"x-mock-behaviour": "explode"})


def test_behaviours_filtered_by_path_or_model_and_repeated(sdk: openai.OpenAI,
                                                  mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("server_error", paths=["/v1/responses"], times=None)
    assert ask(sdk) == "Echo: one two three four five six"
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            sdk.responses.create(model=MODEL, input="hi")
    assert mock_upstream.control()["rules"][0]["times"] is None
    mock_upstream.reset()
    mock_upstream.behave("rate_limit", models=["mock-mini"])
    assert ask(sdk) == "Echo: one two three four five six"  # mock-gpt: not this rule's model
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(model="mock-mini", messages=HI)  # type: ignore[arg-type]
    mock_upstream.reset()
    assert sdk.responses.create(model=MODEL, input="hi").output_text == "Echo: hi"


def test_control_rejects_what_it_does_not_know(mock_upstream: MockUpstream) -> None:
    for bad in ({"behaviour": "explode"}, {"behaviour": "hang", "secs": 1},
                {"behaviour": "error"}, {"behaviour": "die", "die_mode": "later"}):
        with pytest.raises(ValueError, match="__control"):
            mock_upstream.script(bad)
    with pytest.raises(ValueError, match="unknown config"):
        mock_upstream.configure(colour="blue")


def test_required_api_key(mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(api_key="sk-upstream")
    with openai.OpenAI(base_url=upstream.url, api_key="wrong", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as err:
            ask(client)
        assert err.value.code == "invalid_api_key"
    with openai.OpenAI(base_url=upstream.url, api_key="sk-upstream", max_retries=0) as client:
        assert ask(client) == "Echo: one two three four five six"
    assert [r["headers"]["authorization"] for r in upstream.requests()] == [
        "Bearer wrong", "Bearer sk-upstream"]
