"""A routed model when upstreams fail: retries, fallbacks, cooldowns, the deadline, errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import openai
import pytest

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import routed_app, routing
from tests.utils.server import free_port

CHAT = "/v1/chat/completions"
# Six chunks of these pass the output policy's window (text is released 64 characters at a
# time), so the client has had text when the upstream dies.
PAST_THE_WINDOW = " ".join(["an-answer-long-enough-to-be-sent"] * 12)


def _calls(upstream: MockUpstream) -> int:
    return upstream.counts().get(CHAT, 0)


def _metric(text: str, line: str) -> float:
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


async def test_a_429_is_retried_after_its_retry_after(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("rate_limit", retry_after=0.2)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input="hi")
        assert resp.output_text == "Echo: hi"
        assert _calls(a) == 2
        metrics = (await app.http.get("/metrics")).text
        assert _metric(metrics, 'lukhas_upstream_retries_total{group="gpt-test"}') == 1
        assert _metric(metrics, 'lukhas_upstream_requests_total{group="gpt-test",'
                                'outcome="429",upstream="a"}') == 1


async def test_a_429_that_persists_reaches_the_caller_with_retry_after(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("rate_limit", retry_after=0.1, times=None)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        answer = await app.http.post("/v1/responses", json={"model": "gpt-test",
                                                             "input": "hi"})
        assert answer.status_code == 429
        assert float(answer.headers["retry-after"]) > 0
        assert answer.json()["error"]["type"] == "rate_limit_error"
        assert _calls(a) == 2  # 1 + retries.count


async def test_a_500_falls_back_to_the_next_group_and_cools_the_deployment(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("server_error", times=None)
    async with routed_app(pg_url, tmp_path, routing(a.url, b.url)) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input="hi")
        assert resp.output_text == "Echo: hi" and resp.model == "gpt-test"
        assert (_calls(a), _calls(b)) == (2, 1)
        assert b.last()["body"]["model"] == "mock-mini"
        metrics = (await app.http.get("/metrics")).text
        assert _metric(metrics, 'lukhas_upstream_fallbacks_total{group="gpt-test"}') == 1
        # Two failures (cooldowns.failures) put a/mock-gpt out: the next request skips it.
        assert app.state.upstream.cooldowns.snapshot().is_cooling("a/mock-gpt")
        await app.sdk.responses.create(model="gpt-test", input="again")
        assert (_calls(a), _calls(b)) == (2, 2)
        metrics = (await app.http.get("/metrics")).text
        assert _metric(metrics, 'lukhas_upstream_cooldowns{upstream="a"}') == 1


async def test_every_deployment_hanging_gives_an_error_by_the_deadline(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("hang", times=None)
    b.behave("hang", times=None)
    config = routing(a.url, b.url, deadline_seconds=1.5)
    read_s = config["upstreams"]["a"]["timeouts"]["read_seconds"]
    attempts = 2 * (1 + config["retries"]["count"])  # two groups, each 1 + count attempts
    async with routed_app(pg_url, tmp_path, config) as app:
        started = time.monotonic()
        answer = await app.http.post("/v1/responses", json={"model": "gpt-test",
                                                             "input": "hi"})
        elapsed = time.monotonic() - started
        assert answer.status_code == 504
        assert answer.json()["error"]["code"] == "upstream_timeout"
        assert answer.headers["x-should-retry"] == "false"
        # Without the one deadline the attempts' read timeouts would add up.
        assert elapsed < attempts * read_s
        assert _calls(a) >= 1


async def test_an_upstream_400_is_our_400_with_its_message_and_never_retried(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("bad_request", message="Upstream says: 'temperature' is out of range.",
             param="temperature")
    async with routed_app(pg_url, tmp_path, routing(a.url, b.url)) as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="gpt-test", input="hi")
        assert "Upstream says: 'temperature' is out of range." in caught.value.message
        assert caught.value.param == "temperature"
        assert (_calls(a), _calls(b)) == (1, 0)


async def test_an_upstream_dying_mid_stream_fails_the_response_and_stores_it_failed(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("die", die_after_chunks=6, reply=PAST_THE_WINDOW)
    words = "one two three four five six seven eight nine ten eleven twelve"
    async with routed_app(pg_url, tmp_path, routing(a.url, b.url)) as app:
        stream = await app.sdk.responses.create(model="gpt-test", input=words, stream=True)
        events = [event async for event in stream]
        assert events[-1].type == "response.failed"
        failed = events[-1].response  # type: ignore[union-attr]
        assert failed.error is not None and failed.error.code == "upstream_error"
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text and PAST_THE_WINDOW.startswith(text.strip())
        stored = await app.sdk.responses.retrieve(failed.id)
        assert stored.status == "failed"
        assert _calls(b) == 0, "no fallback once the answer has started"


@pytest.mark.parametrize("mode", ["eof", "error"])
async def test_a_stream_that_ends_unfinished_is_a_failure(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream],
        mode: str) -> None:
    a = mock_upstream_factory()
    # Chunks apart in time, so the answer has started before the end comes: an end read
    # together with the first delta is a failure before the first byte, and falls back.
    a.behave("die", die_after_chunks=6, die_mode=mode, chunk_delay_ms=20,
               reply=PAST_THE_WINDOW)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        stream = await app.sdk.responses.create(
            model="gpt-test", input="one two three four five six seven eight nine ten",
            stream=True)
        events = [event async for event in stream]
        assert events[-1].type == "response.failed"


async def test_a_chat_stream_that_dies_ends_with_an_error_chunk(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("die", die_after_chunks=6, reply=PAST_THE_WINDOW)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("lukhas.chat").addHandler(handler)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        stream = await app.sdk.chat.completions.create(
            model="gpt-test", stream=True, messages=[
                {"role": "user", "content": "one two three four five six seven eight nine"}])
        with pytest.raises(openai.APIError, match="broke off"):
            async for _ in stream:
                pass
    logging.getLogger("lukhas.chat").removeHandler(handler)
    # Logged as a response stream's failure is, with the completion's id.
    [failed] = [r for r in records if r.getMessage() == "chat completion stream failed"]
    assert failed.levelname == "ERROR" and failed.exc_info is not None
    assert failed.completion_id.startswith("chatcmpl-")  # type: ignore[attr-defined]


async def test_every_deployment_cooling_is_a_503_with_retry_after(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    a.behave("server_error", times=None)
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        first = await app.http.post("/v1/responses", json={"model": "gpt-test", "input": "x"})
        assert first.status_code == 502
        assert first.headers["x-should-retry"] == "true"
        second = await app.http.post("/v1/responses", json={"model": "gpt-test", "input": "x"})
        assert second.status_code == 503
        assert second.json()["error"]["code"] == "model_unavailable"
        assert int(second.headers["retry-after"]) > 0
        assert _calls(a) == 2


async def test_a_connection_refused_counts_and_falls_back(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    b = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path,
                          routing(f"http://127.0.0.1:{free_port()}/v1", b.url)) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input="hi")
        assert resp.output_text == "Echo: hi"
        metrics = (await app.http.get("/metrics")).text
        assert _metric(metrics, 'lukhas_upstream_requests_total{group="gpt-test",'
                                'outcome="connect",upstream="a"}') == 2


async def test_read_timeouts_move_through_the_plan_then_give_504(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("hang", times=None)
    b.behave("hang", times=None)
    config = routing(a.url, b.url, deadline_seconds=30)
    for name in ("a", "b"):
        config["upstreams"][name]["timeouts"]["read_seconds"] = 0.2
    async with routed_app(pg_url, tmp_path, config) as app:
        answer = await app.http.post("/v1/responses", json={"model": "gpt-test",
                                                             "input": "hi"})
        assert answer.status_code == 504
        assert answer.json()["error"]["code"] == "upstream_timeout"
        assert (_calls(a), _calls(b)) == (2, 2), "every attempt of the plan was made"
        metrics = (await app.http.get("/metrics")).text
        assert _metric(metrics, 'lukhas_upstream_requests_total{group="backup",'
                                'outcome="timeout",upstream="b"}') == 2


async def test_a_retry_after_past_the_deadline_falls_back_at_once(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    a.behave("rate_limit", retry_after=30)
    async with routed_app(pg_url, tmp_path, routing(a.url, b.url, deadline_seconds=5)) as app:
        resp = await app.sdk.responses.create(model="gpt-test", input="hi")
        assert resp.output_text == "Echo: hi"
        assert (_calls(a), _calls(b)) == (1, 1), "a's retry was passed over, not waited for"
