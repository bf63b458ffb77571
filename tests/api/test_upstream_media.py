"""Images and files in every turn of a conversation with a routed model: in the input, kept
through a `previous_response_id` chain (stored and replayed), and in chat history; the
built-in model refuses them wherever they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing

PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
         "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
PDF = "data:application/pdf;base64,JVBERi0xLjQKJcOkw7zDtsOfCg=="


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-upstream-test-key-123")
    yield


def _config(url: str, api: str) -> dict[str, Any]:
    config = routing(url)
    config["upstreams"]["a"]["api"] = api
    return config


def _sent(upstream: MockUpstream, api: str) -> list[dict[str, Any]]:
    """The conversation the upstream got last, without its system messages."""
    if api == "chat_completions":
        return [m for m in upstream.last("/v1/chat/completions")["body"]["messages"]
                if m["role"] != "system"]
    return [i for i in upstream.last("/v1/responses")["body"]["input"]
            if i.get("role") != "system"]


# What the upstream gets for the first turn below, in each API's own shape.
FIRST_TURN = {
    "chat_completions": {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}},
        {"type": "file", "file": {"file_data": PDF, "filename": "a.pdf"}}]},
    "responses": {"role": "user", "content": [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PIXEL, "detail": "low"},
        {"type": "input_file", "file_data": PDF, "filename": "a.pdf"}]},
}


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
async def test_an_earlier_turns_image_reaches_the_upstream_in_its_message(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream],
        api: str) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, _config(a.url, api)) as app:
        first = await app.sdk.responses.create(model="gpt-test", input=[
            {"role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": PIXEL, "detail": "low"},
                {"type": "input_file", "file_data": PDF, "filename": "a.pdf"}]},
            {"role": "assistant", "content": "A pixel and a page."},
            {"role": "user", "content": "Which is larger?"}])
        assert first.output_text == "Echo: Which is larger?"
        assert _sent(a, api) == [FIRST_TURN[api],
                                 {"role": "assistant", "content": "A pixel and a page."},
                                 {"role": "user", "content": "Which is larger?"}]
        # The chain keeps the image in its turn: the next two requests send it again (the
        # second from the chain in PostgreSQL, the third from the session it started).
        second = await app.sdk.responses.create(model="gpt-test", input="And now?",
                                                previous_response_id=first.id)
        sent = _sent(a, api)
        assert sent[0] == FIRST_TURN[api]
        assert sent[-1] == {"role": "user", "content": "And now?"}
        async with app.sdk.responses.stream(model="gpt-test", input="Once more?",
                                            previous_response_id=second.id) as stream:
            final = await stream.get_final_response()
        assert final.output_text == "Echo: Once more?"
        sent = _sent(a, api)
        assert sent[0] == FIRST_TURN[api] and len(sent) == 7
        # The stored input keeps every part as given.
        items = await app.sdk.responses.input_items.list(first.id, order="asc")
        assert [p.type for p in items.data[0].content] == [  # type: ignore[union-attr]
            "input_text", "input_image", "input_file"]


async def test_a_question_of_only_an_image_is_kept_in_the_chain(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        first = await app.sdk.responses.create(model="gpt-test", input=[{
            "role": "user", "content": [{"type": "input_image", "image_url": PIXEL}]}])
        assert first.output_text == "I see 1 image. Echo: "
        await app.sdk.responses.create(model="gpt-test", input="What was it?",
                                       previous_response_id=first.id)
        assert _sent(a, "chat_completions")[:2] == [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PIXEL}}]},
            {"role": "assistant", "content": "I see 1 image. Echo: "}]


async def test_chat_history_keeps_its_images_in_place(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        history: list[Any] = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": PIXEL}}]},
            {"role": "assistant", "content": "A pixel."},
            {"role": "user", "content": [
                {"type": "text", "text": "And this one?"},
                {"type": "image_url", "image_url": {"url": PIXEL, "detail": "high"}}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Another."}]},
            {"role": "user", "content": "Which came first?"}]
        chat = await app.sdk.chat.completions.create(model="gpt-test", messages=history,
                                                     extra_headers={"x-lukhas-session": "s1"})
        assert chat.choices[0].message.content == "Echo: Which came first?"
        # Parts of text alone go as their text; a message with an image goes as sent.
        assert a.last()["body"]["messages"] == [
            *history[:4], {"role": "assistant", "content": "Another."}, history[5]]
        # The session holds the question and the answer; a second call with an image in its
        # question continues it, and a third finds that image there.
        await app.sdk.chat.completions.create(
            model="gpt-test", extra_headers={"x-lukhas-session": "s1"}, messages=[{
                "role": "user", "content": [{"type": "text", "text": "Look:"},
                                            {"type": "image_url", "image_url": {"url": PIXEL}}]}])
        await app.sdk.chat.completions.create(
            model="gpt-test", extra_headers={"x-lukhas-session": "s1"},
            messages=[{"role": "user", "content": "What did I show you?"}])
        sent = a.last()["body"]["messages"]
        assert {"role": "user", "content": [{"type": "text", "text": "Look:"}, {
            "type": "image_url", "image_url": {"url": PIXEL}}]} in sent


async def test_images_go_in_user_messages_only(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="gpt-test", input=[
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "input_image", "image_url": PIXEL}]},
                {"role": "user", "content": "And now?"}])
        assert (caught.value.param, caught.value.code) == (
            "input[1].content[0]", "unsupported_content")
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(model="gpt-test", messages=[
                {"role": "system", "content": [{"type": "image_url",
                                                "image_url": {"url": PIXEL}}]},
                {"role": "user", "content": "And now?"}])
        assert caught.value.param == "messages[0].content[0]"
        assert a.counts() == {}


async def test_the_built_in_model_refuses_an_image_anywhere(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.responses.create(model="lukhas-matriz", input=[
                {"role": "user", "content": [{"type": "input_image", "image_url": PIXEL}]},
                {"role": "assistant", "content": "A pixel."},
                {"role": "user", "content": "And now?"}])
        assert (caught.value.param, caught.value.code) == (
            "input[0].content[0]", "unsupported_content")
        with pytest.raises(openai.BadRequestError) as caught:
            await app.sdk.chat.completions.create(model="lukhas-matriz", messages=[
                {"role": "user", "content": [{"type": "image_url",
                                              "image_url": {"url": PIXEL}}]},
                {"role": "user", "content": "And now?"}])
        assert (caught.value.param, caught.value.code) == (
            "messages[0].content[0]", "unsupported_content")
        # A routed model's conversation with an image, continued with the built-in model.
        routed = await app.sdk.responses.create(model="gpt-test", input=[{
            "role": "user", "content": [{"type": "input_text", "text": "See?"},
                                        {"type": "input_image", "image_url": PIXEL}]}])
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as caught:
                await app.sdk.responses.create(model="lukhas-matriz", input="What is 2+2?",
                                               previous_response_id=routed.id, stream=stream)
            assert caught.value.code == "unsupported_content"
