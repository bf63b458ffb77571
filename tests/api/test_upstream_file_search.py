"""file_search with a routed model, through the official Python SDK: the upstream is
given the caller's passages as numbered sources, and its `[n]` become file citations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.utils.indexes import file_search, make_index
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing

QUESTION = "What is the refund window for online orders?"
REPLY = "Online orders can be refunded within 30 days [1]. Stores differ [7]."
RESULTS = "file_search_call.results"


@pytest.fixture(autouse=True)
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, "sk-upstream-file-search")
    yield


def _system(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "system"]


async def test_the_upstream_reads_the_sources_and_its_citations_are_annotated(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(upstream.url)) as app:
        index, docs = await make_index(app.http, "handbook")
        upstream.behave("reply", reply=REPLY)
        resp = await app.sdk.responses.create(
            model="gpt-test", input=QUESTION, instructions="Be brief.",
            tools=[file_search(index, max_num_results=2)], include=[RESULTS])
        body = upstream.last()["body"]
        assert "tools" not in body and "tool_choice" not in body  # the façade searched
        system = _system(body)
        assert system[0] == "Be brief."
        sources = system[-1]
        assert sources.startswith("File search found these passages in the user's files.")
        assert f"[1] handbook.md ({docs[0]})\nRefunds are accepted within 30 days" in sources
        assert "[2] " in sources and "[3] " not in sources
        assert body["messages"][-1] == {"role": "user", "content": QUESTION}

        call, answer = resp.output
        assert call.type == "file_search_call" and call.status == "completed"
        assert call.queries == [QUESTION]
        assert call.results is not None and len(call.results) == 2
        assert call.results[0].file_id == docs[0]
        assert resp.output_text == REPLY
        assert answer.type == "message"
        [citation] = answer.content[0].annotations  # [7] names no source: no citation
        assert citation.type == "file_citation"
        assert (citation.file_id, citation.filename, citation.index) == (
            docs[0], "handbook.md", REPLY.index("[1]"))


async def test_a_streamed_answer_through_the_sdk(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(upstream.url)) as app:
        index, docs = await make_index(app.http, "handbook")
        upstream.behave("reply", reply=REPLY)
        async with app.sdk.responses.stream(model="gpt-test", input=QUESTION,
                                            tools=[file_search(index)]) as stream:
            events = [event async for event in stream]
            final = await stream.get_final_response()
        types = [e.type for e in events]
        assert types[2:7] == ["response.output_item.added",
                              "response.file_search_call.in_progress",
                              "response.file_search_call.searching",
                              "response.file_search_call.completed",
                              "response.output_item.done"]
        [added] = [e for e in events if e.type == "response.output_text.annotation.added"]
        assert added.output_index == 1 and added.annotation_index == 0
        assert types.index("response.output_text.annotation.added") < \
            types.index("response.output_text.done")
        assert [e.sequence_number for e in events] == list(range(len(events)))
        assert final.output[0].type == "file_search_call"
        assert final.output[0].results is None
        annotations = final.output[1].content[0].annotations  # type: ignore[union-attr]
        assert [(a.file_id, a.index) for a in annotations] == [  # type: ignore[union-attr]
            (docs[0], REPLY.index("[1]"))]
        assert upstream.last()["body"]["stream"] is True


async def test_a_chain_keeps_what_was_found_and_tools_mix(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(upstream.url)) as app:
        index, _ = await make_index(app.http, "handbook")
        weather = {"type": "function", "name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}
        first = await app.sdk.responses.create(
            model="gpt-test", input=QUESTION, tools=[file_search(index), weather],
            tool_choice={"type": "file_search"})
        body = upstream.last()["body"]
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]
        assert "tool_choice" not in body
        # The next turn has no file_search tool, but the upstream still reads what was found.
        second = await app.sdk.responses.create(
            model="gpt-test", input="Thanks. Summarise that.", previous_response_id=first.id)
        system = _system(upstream.last()["body"])
        assert len(system) == 1
        assert system[0].startswith(
            f'File search earlier in this conversation, for "{QUESTION}", found:\n'
            "- handbook.md: Refunds are accepted within 30 days")
        # Later searches of the chain are kept too, in its working memory (the session).
        third = await app.sdk.responses.create(
            model="gpt-test", input="Where do staff park?", previous_response_id=second.id,
            tools=[file_search(index)])
        await app.sdk.responses.create(model="gpt-test", input="And the refunds again?",
                                       previous_response_id=third.id)
        body = upstream.last()["body"]
        [earlier] = _system(body)
        assert [m.split(", found:")[0] for m in earlier.split("\n\n")] == [
            f'File search earlier in this conversation, for "{QUESTION}"',
            'File search earlier in this conversation, for "Where do staff park?"']
        # One system message first: many chat templates refuse one between turns.
        assert [m["role"] for m in body["messages"]] == [
            "system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
        # "required" with only the façade's tool is met by the search: nothing to force.
        await app.sdk.responses.create(model="gpt-test", input=QUESTION,
                                       tools=[file_search(index)], tool_choice="required")
        assert "tool_choice" not in upstream.last()["body"]


async def test_unknown_indexes_never_reach_the_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(upstream.url)) as app:
        with pytest.raises(openai.NotFoundError) as missing:
            await app.sdk.responses.create(model="gpt-test", input=QUESTION,
                                           tools=[file_search("idx_" + "1" * 32)])
        assert missing.value.code == "index_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            await app.sdk.responses.create(
                model="gpt-test", input=QUESTION,
                tools=[file_search("idx_" + "1" * 32, max_num_results=100)])
        assert bad.value.param == "tools[0].max_num_results"  # type: ignore[attr-defined]
        with pytest.raises(openai.BadRequestError) as unsupported:
            await app.sdk.responses.create(model="gpt-test", input=QUESTION,
                                           include=["web_search_call.results"])
        assert unsupported.value.param == "include[0]"  # type: ignore[attr-defined]
        assert upstream.requests("/v1/chat/completions") == []


async def test_a_turn_of_function_outputs_searches_for_nothing(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(upstream.url)) as app:
        index, _ = await make_index(app.http, "handbook")
        weather = {"type": "function", "name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}
        tools = [file_search(index), weather]
        upstream.behave("reply", tool_calls=[{"name": "get_weather",
                                              "arguments": '{"city": "Paris"}'}])
        first = await app.sdk.responses.create(model="gpt-test", input="Weather in Paris?",
                                               tools=tools, include=[RESULTS])
        assert [i.type for i in first.output] == ["file_search_call", "function_call"]
        call = first.output[1]
        assert call.type == "function_call"
        second = await app.sdk.responses.create(
            model="gpt-test", previous_response_id=first.id, tools=tools, include=[RESULTS],
            input=[{"type": "function_call_output", "call_id": call.call_id,
                    "output": "18 C"}])
        searched = second.output[0]
        assert searched.type == "file_search_call"
        assert (searched.queries, searched.results) == ([], [])
        assert second.output_text == "Tool result: 18 C"
        # The upstream reads what the first turn's search found, and no "found nothing".
        system = _system(upstream.last()["body"])
        assert len(system) == 1 and system[0].startswith(
            'File search earlier in this conversation, for "Weather in Paris?"')
