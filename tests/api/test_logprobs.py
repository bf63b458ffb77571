"""Logprobs on both APIs: a routed model's are the upstream's, passed on with each piece as it
streams and whole on the final text; the built-in model's are its own tokens, each certain."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from app.matriz.tokenizer import count_tokens
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, Routed, routed_app, routing
from tests.utils.upstream.generate import logprob_entries, tokens

LOGPROBS = ["message.output_text.logprobs"]


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-upstream-test-key-123")
    yield


def _dumped(logprobs: list[Any]) -> list[dict[str, Any]]:
    return [lp.model_dump() for lp in logprobs]


def _certain(logprobs: list[dict[str, Any]], text: str, top: int) -> None:
    """The built-in model's logprobs of `text`: its tokens, each certain."""
    assert "".join(lp["token"] for lp in logprobs) == text
    assert len(logprobs) == count_tokens(text)
    for lp in logprobs:
        alone = {"token": lp["token"], "logprob": 0.0, "bytes": list(lp["token"].encode())}
        assert lp == {**alone, "top_logprobs": [alone] if top else []}


async def _replayed(app: Routed, response_id: str) -> list[dict[str, Any]]:
    """The events of a stored response's stream, as `GET ?stream=true` replays them."""
    replay = await app.http.get(f"/v1/responses/{response_id}", params={"stream": "true"})
    return [orjson.loads(line[6:]) for line in replay.text.splitlines()
            if line.startswith("data: ")]


# Long enough to leave the Guardian's holdback window in more than one piece.
WORDS = " ".join(["count these five little words"] * 8)


async def test_a_streamed_chat_completion_carries_the_upstreams_logprobs(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        stream = await app.sdk.chat.completions.create(
            model="gpt-test", stream=True, logprobs=True, top_logprobs=2,
            messages=[{"role": "user", "content": WORDS}])
        chunks = [c async for c in stream]
        body = a.last()["body"]
        assert (body["stream"], body["logprobs"], body["top_logprobs"]) == (True, True, 2)
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert content == f"Echo: {WORDS}"
        with_logprobs = [c.choices[0].logprobs for c in chunks
                         if c.choices and c.choices[0].logprobs and c.choices[0].logprobs.content]
        assert len(with_logprobs) > 1, "logprobs come with the pieces, not all at the end"
        got = [lp for chunk in with_logprobs for lp in chunk.content or []]
        assert _dumped(got) == logprob_entries(tokens(content), 2)
        # Not asked for: none on any chunk.
        plain = await app.sdk.chat.completions.create(
            model="gpt-test", stream=True, messages=[{"role": "user", "content": "hi"}])
        assert all(c.choices[0].logprobs is None for c in [c async for c in plain] if c.choices)
        assert "logprobs" not in a.last()["body"]


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_a_streamed_response_carries_logprobs_on_each_delta(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream],
        api: str) -> None:
    a = mock_upstream_factory()
    config = routing(a.url)
    config["upstreams"]["a"]["api"] = api
    async with routed_app(pg_url, tmp_path, config) as app:
        async with app.sdk.responses.stream(
                model="gpt-test", input=WORDS, top_logprobs=3,
                include=LOGPROBS) as stream:  # type: ignore[list-item]
            events = [e async for e in stream]
            final = await stream.get_final_response()
        if api == "chat_completions":
            body = a.last("/v1/chat/completions")["body"]
            assert (body["logprobs"], body["top_logprobs"]) == (True, 3)
        else:
            body = a.last("/v1/responses")["body"]
            assert (body["include"], body["top_logprobs"]) == (LOGPROBS, 3)
        text = final.output_text
        expected = logprob_entries(tokens(text), 3)
        deltas = [e for e in events if e.type == "response.output_text.delta"]
        assert sum(1 for e in deltas if e.logprobs) > 1
        assert _dumped([lp for e in deltas for lp in e.logprobs]) == expected
        done = next(e for e in events if e.type == "response.output_text.done")
        assert _dumped(done.logprobs or []) == expected  # type: ignore[union-attr]
        part = final.output[0].content[0]  # type: ignore[union-attr]
        assert part.type == "output_text" and _dumped(part.logprobs or []) == expected
        stored = await app.sdk.responses.retrieve(final.id)
        assert _dumped(stored.output[0].content[0].logprobs or []) == expected  # type: ignore[union-attr]
        replayed = await _replayed(app, final.id)
        assert [lp for e in replayed if e["type"] == "response.output_text.delta"
                for lp in e["logprobs"]] == expected


async def test_the_built_in_model_gives_its_tokens_logprobs_on_chat(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    question = [{"role": "user", "content": "What is 12 * (3 + 4)?"}]
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        for top in (0, 2):
            done = await app.sdk.chat.completions.create(
                model="lukhas-matriz", messages=question,  # type: ignore[arg-type]
                logprobs=True, top_logprobs=top)
            text = done.choices[0].message.content or ""
            assert "84" in text
            logprobs = done.choices[0].logprobs
            assert logprobs is not None and logprobs.refusal is None
            _certain(_dumped(logprobs.content or []), text, top)
        stream = await app.sdk.chat.completions.create(
            model="lukhas-matriz", messages=question,  # type: ignore[arg-type]
            logprobs=True, top_logprobs=1, stream=True)
        chunks = [c async for c in stream if c.choices]
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        for chunk in chunks:  # each piece with its own tokens
            if chunk.choices[0].delta.content:
                lps = chunk.choices[0].logprobs
                assert lps is not None
                _certain(_dumped(lps.content or []), chunk.choices[0].delta.content, 1)
        _certain(_dumped([lp for c in chunks if c.choices[0].logprobs
                          for lp in c.choices[0].logprobs.content or []]), text, 1)
        unasked = await app.sdk.chat.completions.create(model="lukhas-matriz",
                                                        messages=question)  # type: ignore[arg-type]
        assert unasked.choices[0].logprobs is None
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(model="lukhas-matriz", top_logprobs=2,
                                                  messages=question)  # type: ignore[arg-type]
        assert caught.value.param == "top_logprobs"
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(model="lukhas-matriz", logprobs=True,
                                                  top_logprobs=21,
                                                  messages=question)  # type: ignore[arg-type]
        assert caught.value.param == "top_logprobs"


async def test_the_built_in_model_gives_its_tokens_logprobs_on_responses(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        plain = await app.sdk.responses.create(model="lukhas-matriz", input="What is 6 * 7?",
                                               include=LOGPROBS)  # type: ignore[list-item]
        part = plain.output[-1].content[0]  # type: ignore[union-attr]
        assert "42" in plain.output_text and part.type == "output_text"
        _certain(_dumped(part.logprobs or []), plain.output_text, 0)
        async with app.sdk.responses.stream(model="lukhas-matriz", input="What is 6 * 7?",
                                            top_logprobs=5) as stream:
            events = [e async for e in stream]
            final = await stream.get_final_response()
        deltas = [e for e in events if e.type == "response.output_text.delta"]
        for e in deltas:
            _certain(_dumped(e.logprobs), e.delta, 5)
        done = next(e for e in events if e.type == "response.output_text.done")
        _certain(_dumped(done.logprobs or []), final.output_text, 5)  # type: ignore[union-attr]
        # Cut short by max_output_tokens: the logprobs end where the text does.
        assert plain.usage is not None
        reasoning = plain.usage.output_tokens_details.reasoning_tokens
        cut = await app.sdk.responses.create(model="lukhas-matriz", input="What is 6 * 7?",
                                             include=LOGPROBS,  # type: ignore[list-item]
                                             max_output_tokens=reasoning + 2)
        assert cut.status == "incomplete" and count_tokens(cut.output_text) == 2
        _certain(_dumped(cut.output[-1].content[0].logprobs or []),  # type: ignore[union-attr]
                 cut.output_text, 0)
        unasked = await app.sdk.responses.create(model="lukhas-matriz", input="What is 6 * 7?")
        assert unasked.output[-1].content[0].logprobs == []  # type: ignore[union-attr]
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(
                model="lukhas-matriz", input="hi",
                include=["reasoning.encrypted_content"])  # type: ignore[list-item]
        assert caught.value.param == "include[0]"
