"""Caller B against everything caller A owns: no read, list, search, write, delete,
continuation or cursor, and no oracle either.

Every probe B makes while A's objects exist is made again after A has deleted them; the two
answers must be identical (status and body, byte for byte). A 404 for someone else's object
is then exactly the 404 for a missing one, and a cursor naming someone else's object is
exactly a cursor naming nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.security

ASK = {"model": "lukhas-matriz"}


async def caller(app: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """Headers for a fresh T2 caller, and its subject."""
    issued = (await app.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()
    return {"Authorization": f"Bearer {issued['token']}"}, issued["alias"]


async def ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def make_objects(app: httpx.AsyncClient, who: dict[str, str],
                       tag: str) -> dict[str, str]:
    """A stored response (with input items), an index with documents, a conversation with
    items, a dream, for one caller."""
    resp = await ok(await app.post("/v1/responses", headers=who, json={
        **ASK, "input": [{"role": "user", "content": f"first {tag}"},
                         {"role": "user", "content": f"second {tag}"}]}))
    items = await ok(await app.get(f"/v1/responses/{resp['id']}/input_items", headers=who))
    index = await ok(await app.post("/v1/indexes", headers=who, json={
        "name": f"idx-{tag}", "model": "lukhas-hash-v1"}))
    docs = await ok(await app.post(f"/v1/indexes/{index['id']}/documents", headers=who, json={
        "documents": [{"text": f"{tag} shared text {i}"} for i in range(3)]}))
    conv = await ok(await app.post("/v1/conversations", headers=who, json={
        "metadata": {"tag": tag}, "items": [{"role": "user", "content": f"said {tag}"}]}))
    conv_items = await ok(await app.get(f"/v1/conversations/{conv['id']}/items", headers=who))
    dream = await ok(await app.post("/v1/dreams", headers=who, json={
        **ASK, "seed": f"dream {tag}", "metadata": {"tag": tag}}))
    return {"response": resp["id"], "item": items["data"][0]["id"], "index": index["id"],
            "doc": docs["data"][1]["id"], "conversation": conv["id"],
            "conversation_item": conv_items["data"][0]["id"], "dream": dream["id"]}


def probes(a: dict[str, str], b: dict[str, str]) -> list[tuple[str, str, Any]]:
    """Every way B might touch A's objects: (method, path, json body or query params)."""
    rid, item, iid, doc = a["response"], a["item"], a["index"], a["doc"]
    cid, citem, own = a["conversation"], a["conversation_item"], b["conversation"]
    return [
        ("GET", f"/v1/responses/{rid}", None),
        ("GET", f"/v1/responses/{rid}?stream=true", None),
        ("GET", f"/v1/responses/{rid}/input_items", None),
        ("GET", f"/v1/responses/{rid}/input_items?after={item}", None),
        ("DELETE", f"/v1/responses/{rid}", None),
        ("POST", "/v1/responses", {**ASK, "input": "and then?", "previous_response_id": rid}),
        ("POST", "/v1/responses", {**ASK, "input": "go on", "stream": True,
                                   "previous_response_id": rid}),
        # A's input item as a cursor on B's own response.
        ("GET", f"/v1/responses/{b['response']}/input_items?after={item}", None),
        ("GET", f"/v1/responses/{b['response']}/input_items?after={item}&order=asc", None),
        ("GET", f"/v1/indexes/{iid}", None),
        ("DELETE", f"/v1/indexes/{iid}", None),
        ("GET", f"/v1/indexes/{iid}/documents", None),
        ("GET", f"/v1/indexes/{iid}/documents?after={doc}", None),
        ("POST", f"/v1/indexes/{iid}/documents", {"documents": [{"text": "planted"}]}),
        ("DELETE", f"/v1/indexes/{iid}/documents/{doc}", None),
        ("POST", f"/v1/indexes/{iid}/search", {"query": "shared text"}),
        ("POST", f"/v1/indexes/{iid}/search", {"query": [0.0] * 384}),
        # A's index and document ids as cursors and targets in B's own listings.
        ("GET", f"/v1/indexes?after={iid}", None),
        ("GET", f"/v1/indexes?before={iid}", None),
        ("GET", f"/v1/indexes?after={iid}&order=asc", None),
        ("GET", f"/v1/indexes?before={iid}&order=asc", None),
        ("GET", f"/v1/indexes/{b['index']}/documents?after={doc}", None),
        ("GET", f"/v1/indexes/{b['index']}/documents?before={doc}", None),
        ("GET", f"/v1/indexes/{b['index']}/documents?after={doc}&order=asc", None),
        ("GET", f"/v1/indexes/{b['index']}/documents?before={doc}&order=asc", None),
        ("GET", f"/v1/indexes/{b['index']}/documents?after={iid}", None),
        ("DELETE", f"/v1/indexes/{b['index']}/documents/{doc}", None),
        ("GET", f"/v1/conversations/{cid}", None),
        ("POST", f"/v1/conversations/{cid}", {"metadata": {"tag": "planted"}}),
        ("GET", f"/v1/conversations/{cid}/items", None),
        ("GET", f"/v1/conversations/{cid}/items?after={citem}&order=asc", None),
        ("POST", f"/v1/conversations/{cid}/items", {"items": [
            {"role": "user", "content": "planted"}]}),
        ("GET", f"/v1/conversations/{cid}/items/{citem}", None),
        ("DELETE", f"/v1/conversations/{cid}/items/{citem}", None),
        ("POST", "/v1/responses", {**ASK, "input": "and then?", "conversation": cid}),
        ("POST", "/v1/responses", {**ASK, "input": "go on", "stream": True,
                                   "conversation": {"id": cid}}),
        # A's conversation item as a cursor and a target in B's own conversation.
        ("GET", f"/v1/conversations/{own}/items?after={citem}", None),
        ("GET", f"/v1/conversations/{own}/items/{citem}", None),
        ("DELETE", f"/v1/conversations/{own}/items/{citem}", None),
        ("DELETE", f"/v1/conversations/{cid}", None),
        ("GET", f"/v1/dreams/{a['dream']}", None),
        ("GET", f"/v1/dreams/{a['dream']}?stream=true&starting_after=0", None),
        ("POST", f"/v1/dreams/{a['dream']}/cancel", None),
        ("GET", f"/v1/dreams?after={a['dream']}", None),
        ("GET", f"/v1/dreams?before={a['dream']}&order=asc", None),
        # A's index as a dream's source.
        ("POST", "/v1/dreams", {**ASK, "seed": "x", "constraints": {
            "sources": {"indexes": [iid]}}}),
        ("DELETE", f"/v1/dreams/{a['dream']}", None),
    ]


async def answers(app: httpx.AsyncClient, who: dict[str, str],
                  plan: list[tuple[str, str, Any]]) -> list[tuple[int, str]]:
    out = []
    for method, path, body in plan:
        resp = await app.request(method, path, headers=who, json=body)
        out.append((resp.status_code, resp.text))
    return out


async def test_b_cannot_touch_or_detect_what_a_owns(app_client: httpx.AsyncClient) -> None:
    a, _ = await caller(app_client)
    b, _ = await caller(app_client)
    mine = await make_objects(app_client, a, "alpha")
    # B's own objects made after A's, so A's would sort inside B's listings if they leaked.
    theirs = await make_objects(app_client, b, "beta")
    for _ in range(2):
        await ok(await app_client.post("/v1/indexes", headers=b, json={
            "name": f"extra-{_}", "model": "lukhas-hash-v1"}))
    plan = probes(mine, theirs)
    while_present = await answers(app_client, b, plan)

    for (method, path, _), (status, text) in zip(plan, while_present, strict=True):
        assert status < 500, (method, path, text)
        if status == 200:
            leaked = [m for m in (mine["response"], mine["index"], mine["doc"], mine["dream"],
                                  "alpha")
                      if m in text.replace(path, "")]
            assert leaked == [], (method, path, text)
    # A's objects are untouched by everything B tried.
    assert (await app_client.get(f"/v1/responses/{mine['response']}", headers=a)).status_code \
        == 200
    docs = await ok(await app_client.get(f"/v1/indexes/{mine['index']}/documents", headers=a))
    assert len(docs["data"]) == 3 and "planted" not in str(docs)
    conv = f"/v1/conversations/{mine['conversation']}"
    assert (await ok(await app_client.get(conv, headers=a)))["metadata"] == {"tag": "alpha"}
    conv_items = await ok(await app_client.get(f"{conv}/items", headers=a))
    assert [i["id"] for i in conv_items["data"]] == [mine["conversation_item"]]
    dream = await ok(await app_client.get(f"/v1/dreams/{mine['dream']}", headers=a))
    assert dream["metadata"] == {"tag": "alpha"} and dream["status"] != "cancelled"

    # Now A's objects are gone: B's answers must not change by a byte.
    await ok(await app_client.delete(f"/v1/responses/{mine['response']}", headers=a))
    await ok(await app_client.delete(f"/v1/indexes/{mine['index']}", headers=a))
    await ok(await app_client.delete(f"/v1/conversations/{mine['conversation']}", headers=a))
    await ok(await app_client.delete(f"/v1/dreams/{mine['dream']}", headers=a))
    when_missing = await answers(app_client, b, plan)
    differing = [(plan[i][:2], while_present[i], when_missing[i])
                 for i in range(len(plan)) if while_present[i] != when_missing[i]]
    assert differing == [], differing
    statuses = {path: status for (_, path, _), (status, _) in zip(plan, when_missing,
                                                                    strict=True)}
    assert statuses[f"/v1/responses/{mine['response']}"] == 404
    assert statuses[f"/v1/indexes/{mine['index']}/documents"] == 404
    assert statuses[f"/v1/indexes?after={mine['index']}"] == 200
    assert statuses[f"/v1/conversations/{mine['conversation']}/items"] == 404
    assert statuses[f"/v1/dreams/{mine['dream']}"] == 404

    # Index names are per caller: A's name is free for B, so creating one says nothing.
    same_name = await app_client.post("/v1/indexes", headers=b, json={
        "name": "idx-alpha", "model": "lukhas-hash-v1"})
    assert same_name.status_code == 200, same_name.text


async def test_cursor_pages_of_a_caller_are_unchanged_by_others_ids(
    app_client: httpx.AsyncClient,
) -> None:
    """B's own cursors still page through B's own listing (the fix kept pagination)."""
    a, _ = await caller(app_client)
    b, _ = await caller(app_client)
    a_index = (await ok(await app_client.post("/v1/indexes", headers=a, json={
        "name": "a-only", "model": "lukhas-hash-v1"})))["id"]
    made = [(await ok(await app_client.post("/v1/indexes", headers=b, json={
        "name": f"b{i}", "model": "lukhas-hash-v1"})))["id"] for i in range(3)]
    page = await ok(await app_client.get("/v1/indexes", headers=b,
                                         params={"after": made[2], "limit": 10}))
    assert [d["id"] for d in page["data"]] == [made[1], made[0]]
    foreign = await ok(await app_client.get("/v1/indexes", headers=b,
                                            params={"after": a_index, "limit": 10}))
    assert foreign == {"object": "list", "data": [], "first_id": None, "last_id": None,
                       "has_more": False}


async def test_sessions_and_long_term_memory_stay_with_their_caller(
    app_client: httpx.AsyncClient,
) -> None:
    a, _ = await caller(app_client)
    b, _ = await caller(app_client)
    session = {"x-lukhas-session": "same-name-for-both"}
    await ok(await app_client.post("/v1/responses", headers={**a, **session}, json={
        **ASK, "input": "My favourite colour is vermilion."}))
    await ok(await app_client.post("/v1/responses", headers=a, json={
        **ASK, "input": "My name is Ada Lovelace."}))
    # A recalls both: the session by name, the name from long-term memory.
    own_session = await ok(await app_client.post("/v1/responses", headers={**a, **session},
                                                 json={**ASK, "store": False,
                                                       "input": "What is my favourite colour?"}))
    assert "vermilion" in str(own_session["output"])
    own_memory = await ok(await app_client.post("/v1/responses", headers=a, json={
        **ASK, "store": False, "input": "What is my name?"}))
    assert "Ada" in str(own_memory["output"])
    # B, with the same session name and the same questions, gets none of it.
    for question in ("What is my favourite colour?", "What is my name?",
                     "Who is Ada Lovelace?", "vermilion"):
        for headers in ({**b, **session}, b):
            resp = await ok(await app_client.post("/v1/responses", headers=headers, json={
                **ASK, "store": False, "input": question}))
            assert "vermilion" not in str(resp["output"]).replace(question, "")
            assert "Lovelace" not in str(resp["output"]).replace(question, "")
    chat = await ok(await app_client.post("/v1/chat/completions", headers={**b, **session},
                                          json={**ASK, "messages": [
                                              {"role": "user", "content": "What is my name?"}]}))
    assert "Ada" not in str(chat)


async def test_erasure_erases_only_the_callers_own(app_client: httpx.AsyncClient) -> None:
    a, a_subject = await caller(app_client)
    b, b_subject = await caller(app_client)
    mine = await make_objects(app_client, a, "alpha")
    await ok(await app_client.post("/v1/responses", headers=a, json={
        **ASK, "input": "My name is Ada Lovelace."}))
    await make_objects(app_client, b, "beta")
    erased = await ok(await app_client.delete("/v1/identity/me/memory", headers=b))
    assert erased["subject"] == b_subject and erased["responses"] == 1
    # B may not name another subject: the admin route refuses a T2 caller.
    denied = await app_client.delete("/v1/identity/memory", headers=b,
                                      params={"subject": a_subject})
    assert denied.status_code == 403
    assert (await app_client.get(f"/v1/responses/{mine['response']}", headers=a)).status_code \
        == 200
    docs = await ok(await app_client.get(f"/v1/indexes/{mine['index']}/documents", headers=a))
    assert len(docs["data"]) == 3
    recalled = await ok(await app_client.post("/v1/responses", headers=a, json={
        **ASK, "store": False, "input": "What is my name?"}))
    assert "Ada" in str(recalled["output"]), "A's long-term memory survives B's erasure"
