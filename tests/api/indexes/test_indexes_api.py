"""`/v1/indexes` in-process: ownership, all-or-nothing batches, search with filters."""

from __future__ import annotations

from typing import Any

import httpx


async def create(client: httpx.AsyncClient, name: str, **body: Any) -> dict[str, Any]:
    resp = await client.post("/v1/indexes", json={"name": name, "model": "lukhas-hash-v1",
                                                  **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_index_lifecycle_and_ownership(app_client: httpx.AsyncClient) -> None:
    index = await create(app_client, "notes")
    assert index["object"] == "index" and index["dimensions"] == 384
    dup = await app_client.post("/v1/indexes", json={"name": "notes"})
    assert dup.status_code == 400 and dup.json()["error"]["code"] == "duplicate_name"
    default = await create(app_client, "default-model", model=None)
    assert default["model"] == "all-MiniLM-L6-v2"
    other = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
    stranger = {"Authorization": f"Bearer {other}"}
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/documents"),
                         ("POST", "/search")):
        resp = await app_client.request(method, f"/v1/indexes/{index['id']}{path}",
                                        headers=stranger, json={"query": "x"})
        assert resp.status_code == 404, (method, path, resp.text)
    assert (await app_client.get("/v1/indexes", headers=stranger)).json()["data"] == []
    deleted = await app_client.delete(f"/v1/indexes/{index['id']}")
    assert deleted.json() == {"id": index["id"], "object": "index.deleted", "deleted": True}
    assert (await app_client.get(f"/v1/indexes/{index['id']}")).status_code == 404


async def test_list_pagination(app_client: httpx.AsyncClient) -> None:
    # A caller of its own, so the listing holds only this test's indexes.
    token = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
    app_client.headers["Authorization"] = f"Bearer {token}"
    made = [(await create(app_client, f"p{i}"))["id"] for i in range(5)]
    first = (await app_client.get("/v1/indexes", params={"limit": 2})).json()
    assert [d["id"] for d in first["data"]] == made[::-1][:2] and first["has_more"]
    rest = (await app_client.get("/v1/indexes", params={"limit": 10,
                                                        "after": first["last_id"]})).json()
    assert [d["id"] for d in rest["data"]] == made[::-1][2:] and not rest["has_more"]
    asc = (await app_client.get("/v1/indexes", params={"order": "asc", "limit": 5})).json()
    assert [d["id"] for d in asc["data"]] == made
    back = (await app_client.get("/v1/indexes", params={"limit": 2,
                                                        "before": made[2]})).json()
    assert [d["id"] for d in back["data"]] == [made[4], made[3]]


async def test_documents_all_or_nothing_dedup_and_search(app_client: httpx.AsyncClient) -> None:
    index = (await create(app_client, "facts"))["id"]
    docs = [{"text": "The cat sat on the mat.", "tags": ["pets"], "metadata": {"k": 1}},
            {"text": "Dogs chase cats in the park.", "tags": ["pets"], "lane": "work"},
            {"text": "The stock market fell sharply today.", "metadata": {"k": 2}}]
    added = await app_client.post(f"/v1/indexes/{index}/documents", json={"documents": docs})
    assert added.status_code == 200 and len(added.json()["data"]) == 3
    ids = [d["id"] for d in added.json()["data"]]

    bad = [{"text": "fine"}, {"text": "wrong", "vector": [0.1] * 3}]
    resp = await app_client.post(f"/v1/indexes/{index}/documents", json={"documents": bad})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "dimension_mismatch"
    resp = await app_client.post(f"/v1/indexes/{index}/documents",
                                 json={"documents": [{"text": "ok"}, {"text": " "}]})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "documents[1].text"
    resp = await app_client.post(f"/v1/indexes/{index}/documents",
                                 json={"documents": [{"text": f"d{i}"} for i in range(1001)]})
    assert resp.status_code == 400
    info = (await app_client.get(f"/v1/indexes/{index}")).json()
    assert info["documents"] == 3, "failed batches stored nothing"

    again = await app_client.post(f"/v1/indexes/{index}/documents",
                                  json={"documents": [docs[0]]})
    assert again.json()["data"][0] == {"id": ids[0], "object": "index.document",
                                       "deduplicated": True}

    hits = (await app_client.post(f"/v1/indexes/{index}/search", json={
        "query": "a cat on a mat", "top_k": 3})).json()["data"]
    assert hits[0]["id"] == ids[0] and hits[0]["score"] > hits[-1]["score"]
    work = (await app_client.post(f"/v1/indexes/{index}/search", json={
        "query": "cats", "filters": {"lane": "work"}})).json()["data"]
    assert [h["id"] for h in work] == [ids[1]]
    tagged = (await app_client.post(f"/v1/indexes/{index}/search", json={
        "query": "anything", "filters": {"tags": ["pets"], "metadata": {"k": 1}}})).json()
    assert [h["id"] for h in tagged["data"]] == [ids[0]]
    vector = [0.0] * 384
    vector[0] = 1.0
    by_vector = await app_client.post(f"/v1/indexes/{index}/search",
                                      json={"query": vector, "top_k": 2})
    assert by_vector.status_code == 200 and len(by_vector.json()["data"]) == 2
    short = await app_client.post(f"/v1/indexes/{index}/search", json={"query": [1.0, 0.0]})
    assert short.status_code == 400

    listed = (await app_client.get(f"/v1/indexes/{index}/documents",
                                   params={"order": "asc"})).json()
    assert [d["id"] for d in listed["data"]] == ids
    gone = await app_client.delete(f"/v1/indexes/{index}/documents/{ids[2]}")
    assert gone.json()["deleted"] is True
    assert (await app_client.delete(f"/v1/indexes/{index}/documents/{ids[2]}")).status_code == 404
    assert (await app_client.get(f"/v1/indexes/{index}")).json()["documents"] == 2


async def test_search_after_the_index_is_gone_elsewhere(app_client: httpx.AsyncClient) -> None:
    """A search remembers its index's row; an index erased by another route (or replica) is
    still a 404 on the next search, not an empty list."""
    token = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
    who = {"Authorization": f"Bearer {token}"}
    made = await app_client.post("/v1/indexes", headers=who,
                                 json={"name": "doomed", "model": "lukhas-hash-v1"})
    index = made.json()["id"]
    added = await app_client.post(f"/v1/indexes/{index}/documents", headers=who,
                                  json={"documents": [{"text": "The vault opens at noon."}]})
    assert added.status_code == 200, added.text
    search = {"query": "When does the vault open?", "top_k": 1}
    found = await app_client.post(f"/v1/indexes/{index}/search", headers=who, json=search)
    assert found.json()["data"][0]["text"] == "The vault opens at noon."
    erased = await app_client.delete("/v1/identity/me/memory", headers=who)
    assert erased.status_code == 200 and erased.json()["indexes"] == 1
    gone = await app_client.post(f"/v1/indexes/{index}/search", headers=who, json=search)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "index_not_found"
