"""The file_search tool on `/v1/responses` with the built-in model, in-process: the search
item, quoting and citing, filters and ranking, owner scoping, errors, streaming, storage."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.api.responses.file_search import SearchOutput
from app.matriz.retrieval import FileSearch, Source
from tests.api.responses.test_sse_golden import check_stream, parse_sse
from tests.utils.indexes import file_search, make_index

MODEL = "lukhas-matriz"
QUESTION = "What is the refund window for online orders?"
QUOTE = "Refunds are accepted within 30 days of purchase for online orders."


async def create(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post("/v1/responses", json={"model": MODEL, **body})


async def ok(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    resp = await create(http, **body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def streamed(http: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    resp = await create(http, stream=True, **body)
    assert resp.status_code == 200, resp.text
    return [data for _, data in parse_sse(resp.text)]


def message(response: dict[str, Any]) -> dict[str, Any]:
    item = next(i for i in response["output"] if i["type"] == "message")
    return dict(item["content"][0])


async def token(http: httpx.AsyncClient, **body: Any) -> dict[str, str]:
    minted = await http.post("/v1/identity/tokens",
                             json={"realm": "LUKHAS", "zone": "eu", "tier": "T2", **body})
    assert minted.status_code == 200, minted.text
    return {"Authorization": f"Bearer {minted.json()['token']}"}


async def test_the_builtin_model_quotes_and_cites_the_best_passage(
        app_client: httpx.AsyncClient) -> None:
    index, docs = await make_index(app_client, "handbook")
    resp = await ok(app_client, input=QUESTION, tools=[file_search(index)])
    assert [i["type"] for i in resp["output"]] == ["file_search_call", "reasoning", "message"]
    call = resp["output"][0]
    assert call["id"].startswith("fs_") and call["status"] == "completed"
    assert call["queries"] == [QUESTION]
    assert call["results"] is None  # not asked for with `include`
    part = message(resp)
    assert part["text"] == f'From handbook.md: "{QUOTE}" [1]'
    assert part["annotations"] == [{"type": "file_citation", "file_id": docs[0],
                                    "filename": "handbook.md",
                                    "index": part["text"].index("[1]")}]
    summary = resp["output"][1]["summary"][0]["text"]
    assert "documents: best match in [1] handbook.md" in summary
    assert "validation: the quote appears verbatim in [1] handbook.md" in summary
    assert resp["tools"] == [file_search(index)]


async def test_results_come_with_include_and_respect_max_num_results(
        app_client: httpx.AsyncClient) -> None:
    index, docs = await make_index(app_client, "handbook")
    resp = await ok(app_client, input="When does the office open on weekdays?",
                    tools=[file_search(index, max_num_results=2)],
                    include=["file_search_call.results"])
    results = resp["output"][0]["results"]
    assert len(results) == 2
    assert results[0] == {"file_id": docs[2], "filename": "hours.md",
                          "score": results[0]["score"],
                          "text": "The office opens at 9am and closes at 6pm on weekdays.",
                          "attributes": {"filename": "hours.md", "year": 2023, "team": "ops",
                                         "public": True}}
    assert 0 < results[1]["score"] <= results[0]["score"] <= 1
    assert message(resp)["text"] == \
        'From hours.md: "The office opens at 9am and closes at 6pm on weekdays." [1]'


async def test_nothing_that_matches_is_said_honestly(app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "handbook")
    resp = await ok(app_client, input="What is the capital of France?",
                    tools=[file_search(index)])
    part = message(resp)
    assert part["text"].startswith("I don't know. I searched 3 passages of your files but "
                                   "none of them says enough about it to quote.")
    assert part["annotations"] == []
    # Above a score threshold no passage is close enough: the search itself finds nothing.
    resp = await ok(app_client, input=QUESTION,
                    tools=[file_search(index, ranking_options={"score_threshold": 0.99,
                                                               "ranker": "auto"})],
                    include=["file_search_call.results"])
    assert resp["output"][0]["results"] == []
    assert message(resp)["text"].startswith(
        "I don't know. I searched your files and found nothing for this question.")
    empty, _ = await make_index(app_client, "empty", [{"text": "Nothing about money."}])
    resp = await ok(app_client, input=QUESTION, tools=[file_search(empty)])
    assert "none of them says enough about it" in message(resp)["text"]


async def test_other_nodes_still_answer_first(app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "handbook")
    resp = await ok(app_client, input="What is 6*7?", tools=[file_search(index)])
    assert resp["output"][0]["type"] == "file_search_call"
    assert message(resp) == {**message(resp), "text": "6 * 7 = 42.", "annotations": []}


@pytest.mark.parametrize(("filters", "files"), [
    ({"type": "eq", "key": "team", "value": "ops"}, {"facilities.md", "hours.md"}),
    ({"type": "ne", "key": "team", "value": "ops"}, {"handbook.md"}),
    ({"type": "gte", "key": "year", "value": 2023}, {"handbook.md", "hours.md"}),
    ({"type": "lt", "key": "year", "value": 2023}, {"facilities.md"}),
    ({"type": "in", "key": "year", "value": [2022, 2024]}, {"handbook.md", "facilities.md"}),
    ({"type": "nin", "key": "team", "value": ["sales"]}, {"facilities.md", "hours.md"}),
    ({"type": "eq", "key": "public", "value": True}, {"hours.md"}),
    ({"type": "and", "filters": [{"type": "eq", "key": "team", "value": "ops"},
                                 {"type": "gt", "key": "year", "value": 2022}]}, {"hours.md"}),
    ({"type": "or", "filters": [{"type": "eq", "key": "team", "value": "sales"},
                                {"type": "lte", "key": "year", "value": 2022}]},
     {"handbook.md", "facilities.md"}),
    ({"type": "eq", "key": "year", "value": "2024"}, set()),  # a string is not the number
    ({"type": "eq", "key": "no such key", "value": 1}, set()),
])
async def test_filters_are_honoured(app_client: httpx.AsyncClient, filters: dict[str, Any],
                                    files: set[str]) -> None:
    index, _ = await make_index(app_client, "filtered")
    resp = await ok(app_client, input="office refunds parking",
                    tools=[file_search(index, filters=filters)],
                    include=["file_search_call.results"])
    assert {r["filename"] for r in resp["output"][0]["results"]} == files


async def test_several_indexes_are_searched_together(app_client: httpx.AsyncClient) -> None:
    first, _ = await make_index(app_client, "a", [{"text": "Lunch is served at noon."}])
    second, _ = await make_index(app_client, "b", [{"text": "Dinner is served at seven."}])
    resp = await ok(app_client, input="When is dinner served?",
                    tools=[file_search(first, second, first)],
                    include=["file_search_call.results"])
    results = resp["output"][0]["results"]
    assert [r["text"] for r in results] == ["Dinner is served at seven.",
                                            "Lunch is served at noon."]
    assert results[1]["filename"].startswith("a-")  # no filename: the index's name
    assert message(resp)["text"].startswith('From b-')


async def test_indexes_are_owner_scoped(app_client: httpx.AsyncClient) -> None:
    mine, _ = await make_index(app_client, "private")
    stranger = await token(app_client)
    theirs, _ = await make_index(app_client, "theirs", headers=stranger)
    for ids, at in (([mine], 0), ([theirs, mine], 1)):
        resp = await app_client.post("/v1/responses", headers=stranger, json={
            "model": MODEL, "input": QUESTION, "tools": [file_search(*ids)]})
        assert resp.status_code == 404, resp.text
        error = resp.json()["error"]
        assert error == {"message": f"No index with id '{mine}'.",
                         "type": "invalid_request_error", "code": "index_not_found",
                         "param": f"tools[0].vector_store_ids[{at}]"}
    unknown = await create(app_client, input=QUESTION,
                           tools=[{"type": "function", "name": "f"},
                                  file_search("idx_" + "0" * 32)])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["param"] == "tools[1].vector_store_ids[0]"
    # Nothing of the refused requests was stored or searched for the stranger.
    listed = await app_client.get("/v1/indexes", headers=stranger)
    assert [i["id"] for i in listed.json()["data"]] == [theirs]


async def test_the_tool_needs_the_scope_to_read_indexes(app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "scoped")
    narrow = await token(app_client, scopes=["responses.write", "responses.read"])
    resp = await app_client.post("/v1/responses", headers=narrow, json={
        "model": MODEL, "input": QUESTION, "tools": [file_search(index)]})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "insufficient_permissions"
    assert "indexes.read" in resp.json()["error"]["message"]


@pytest.mark.parametrize(("tool", "param", "code"), [
    ({"vector_store_ids": []}, "tools[0].vector_store_ids", "invalid_value"),
    ({"vector_store_ids": "idx_1"}, "tools[0].vector_store_ids", "invalid_value"),
    ({"max_num_results": 0}, "tools[0].max_num_results", "invalid_value"),
    ({"max_num_results": 51}, "tools[0].max_num_results", "invalid_value"),
    ({"ranking_options": {"hybrid_search": {"embedding_weight": 1, "text_weight": 1}}},
     "tools[0].ranking_options.hybrid_search", "unsupported_parameter"),
    ({"ranking_options": {"ranker": "default-2024-11-15"}},
     "tools[0].ranking_options.ranker", "unsupported_parameter"),
    ({"ranking_options": {"score_threshold": 1.5}},
     "tools[0].ranking_options.score_threshold", "invalid_value"),
    ({"ranking_options": {"boost": 2}}, "tools[0].ranking_options.boost",
     "unsupported_parameter"),
    ({"filters": {"type": "regex", "key": "a", "value": "x"}}, "tools[0].filters.type",
     "invalid_value"),
    ({"filters": {"type": "in", "key": "a", "value": "x"}}, "tools[0].filters.value",
     "invalid_value"),
    ({"filters": {"type": "eq", "key": "a", "value": ["x"]}}, "tools[0].filters.value",
     "invalid_value"),
    ({"filters": {"type": "gt", "key": "a", "value": True}}, "tools[0].filters.value",
     "invalid_value"),
    ({"filters": {"type": "and", "filters": [{"type": "eq", "key": "a"}]}},
     "tools[0].filters.filters[0].value", "missing_required_parameter"),
    ({"filters": {"type": "or", "filters": []}}, "tools[0].filters.filters", "invalid_value"),
    ({"rewrite_query": True}, "tools[0].rewrite_query", "unsupported_parameter"),
])
async def test_bad_tools_are_clear_400s(app_client: httpx.AsyncClient, tool: dict[str, Any],
                                        param: str, code: str) -> None:
    body = {"type": "file_search", "vector_store_ids": ["idx_" + "0" * 32], **tool}
    resp = await create(app_client, input=QUESTION, tools=[body])
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert (error["param"], error["code"], error["type"]) == (param, code,
                                                              "invalid_request_error")
    two = await create(app_client, input=QUESTION,
                       tools=[file_search("idx_1"), file_search("idx_2")])
    assert two.status_code == 400 and two.json()["error"]["param"] == "tools[1]"


async def test_tool_choice_none_allows_no_search(app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "unused")
    resp = await ok(app_client, input=QUESTION, tools=[file_search(index)], tool_choice="none")
    assert [i["type"] for i in resp["output"]] == ["reasoning", "message"]
    assert resp["output"][1]["content"][0]["text"].startswith("I don't know.")


def _annotated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "response.output_text.annotation.added"]


async def test_the_stream_tells_the_search_and_its_citations_in_order(
        app_client: httpx.AsyncClient) -> None:
    index, docs = await make_index(app_client, "streamed")
    events = await streamed(app_client, input=QUESTION, tools=[file_search(index)],
                            include=["file_search_call.results"])
    final = check_stream([(e["type"], e) for e in events], "response.completed")
    types = [e["type"] for e in events]
    assert types[2:8] == ["response.output_item.added", "response.file_search_call.in_progress",
                          "response.file_search_call.searching",
                          "response.file_search_call.completed", "response.output_item.done",
                          "response.output_item.added"]
    added, done = events[2], events[6]
    assert added["item"]["status"] == "in_progress" and added["item"]["results"] is None
    assert done["item"] == final["output"][0] and done["item"]["results"]
    assert all(e["output_index"] == 0 and e["item_id"] == done["item"]["id"]
               for e in events[3:6])
    [cited] = _annotated(events)
    text = final["output"][2]["content"][0]["text"]
    assert cited["annotation"] == {"type": "file_citation", "file_id": docs[0],
                                   "filename": "handbook.md", "index": text.index("[1]")}
    assert (cited["output_index"], cited["content_index"], cited["annotation_index"]) == (2, 0, 0)
    assert cited["item_id"] == final["output"][2]["id"]
    # Announced right after the delta that completed its marker, before the text is done.
    at = types.index("response.output_text.annotation.added")
    assert events[at - 1]["type"] == "response.output_text.delta"
    assert events[at - 1]["delta"].rstrip().endswith("[1]")  # its marker ends it
    assert types.index("response.output_text.done") > at
    assert final["output"][2]["content"][0]["annotations"] == [cited["annotation"]]
    # Collected, it is the same response.
    stored = (await app_client.get(f"/v1/responses/{final['id']}")).json()
    assert stored == final


async def test_stored_responses_replay_and_chain_with_the_search(
        app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "kept")
    first = await ok(app_client, input=QUESTION, tools=[file_search(index)])
    stored = (await app_client.get(f"/v1/responses/{first['id']}")).json()
    assert stored["output"] == first["output"]
    replay = await app_client.get(f"/v1/responses/{first['id']}", params={"stream": "true"})
    events = [data for _, data in parse_sse(replay.text)]
    final = check_stream([(e["type"], e) for e in events], "response.completed")
    assert final["output"] == first["output"]
    assert [e["annotation"] for e in _annotated(events)] == message(first)["annotations"]
    assert [e["type"] for e in events][3:6] == [
        "response.file_search_call.in_progress", "response.file_search_call.searching",
        "response.file_search_call.completed"]
    # The chain goes on; the stored conversation keeps what the search found.
    second = await ok(app_client, input="Where do staff park?",
                      previous_response_id=first["id"], tools=[file_search(index)])
    assert message(second)["text"] == 'From facilities.md: "Staff park in lot B behind the ' \
        'office." [1]'
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    async with state.pool.acquire() as conn:
        turns = await conn.fetchval("SELECT turns FROM responses WHERE id = $1", first["id"])
    searched = [t for t in turns if t["role"] == "file_search_call"]
    assert len(searched) == 1 and QUOTE in searched[0]["text"]
    assert [t["role"] for t in turns] == ["user", "file_search_call", "assistant"]


async def test_output_items_given_back_as_input_are_accepted(
        app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "manual")
    first = await ok(app_client, input=QUESTION, tools=[file_search(index)],
                     include=["file_search_call.results"])
    items = [i for i in first["output"] if i["type"] != "reasoning"]
    second = await ok(app_client, input=[*items, {"role": "user", "content": "Thanks! And "
                                                  "where do staff park?"}],
                      tools=[file_search(index)])
    assert "lot B" in message(second)["text"]
    listed = (await app_client.get(f"/v1/responses/{second['id']}/input_items",
                                   params={"order": "asc"})).json()["data"]
    assert [i["type"] for i in listed] == ["file_search_call", "message", "message"]
    assert listed[0]["results"] == first["output"][0]["results"]


def test_markers_cut_between_deltas_are_cited_once_whole() -> None:
    search = FileSearch("fs_1", ("idx_1",), 10, "tools[0]", sources=[
        Source("mem_1", "a.md", "idx_1", "A.", 0.9), Source("mem_2", "b.md", "idx_1", "B.", 0.5)])
    output = SearchOutput(search, with_results=False)
    text, cited = "", []
    for delta in ("See [", "1", "] and [", "12] or [2", "]", " [0] [2]"):
        text += delta
        cited += [(c.file_id, c.index) for c in output.cite(text)]
    assert text == "See [1] and [12] or [2] [0] [2]"
    assert cited == [("mem_1", 4), ("mem_2", 20), ("mem_2", 28)]
