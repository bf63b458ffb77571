"""Erasure: everything a subject owns goes, tombstones and an audit record stay."""

from __future__ import annotations

import time

import httpx
import numpy as np

from app.db.repositories import memory as repo
from app.ids import ordered_ids


async def test_erasing_ten_thousand_documents(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    issued = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()
    me = {"Authorization": f"Bearer {issued['token']}"}
    subject = issued["alias"]
    told = await app_client.post("/v1/responses", headers={**me, "x-lukhas-session": "s1"},
                                 json={"model": "lukhas-matriz",
                                       "input": "My name is Ada Lovelace."})
    assert told.status_code == 200
    index = (await app_client.post("/v1/indexes", headers=me, json={
        "name": "big", "model": "lukhas-hash-v1"})).json()
    rng = np.random.default_rng(1)
    async with state.pool.acquire() as conn, conn.transaction():
        row = await repo.get_index(conn, subject, index["id"])
        assert row is not None
        await repo.drop_hnsw(conn, row)  # a bulk load: the graph is not what is tested here
        docs = [repo.NewDocument(f"doc {i}", rng.normal(size=384).astype(np.float32))
                for i in range(10_000)]
        await repo.add_many(conn, row, docs, ordered_ids("mem_", len(docs)))
    conv = (await app_client.post("/v1/conversations", headers=me, json={
        "items": [{"role": "user", "content": "My name is Ada Lovelace."}]})).json()
    dream = (await app_client.post("/v1/dreams", headers=me, json={
        "model": "lukhas-matriz", "seed": "Ada"})).json()
    other = await app_client.post("/v1/responses", json={"model": "lukhas-matriz",
                                                         "input": "My name is Grace."})
    others_conv = (await app_client.post("/v1/conversations", json={})).json()

    started = time.perf_counter()
    erased = await app_client.delete("/v1/identity/me/memory", headers=me)
    elapsed = time.perf_counter() - started
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["documents"] == 10_001 and body["indexes"] == 2 and body["responses"] == 1
    assert body["sessions"] == 1 and body["conversations"] == 1 and body["dreams"] == 1
    assert elapsed < 0.5, f"erasure took {elapsed:.3f} s"

    asked = await app_client.post("/v1/responses", headers=me, json={
        "model": "lukhas-matriz", "input": "What is my name?"})
    assert "Ada" not in asked.text, "nothing of the subject is left to recall"
    assert (await app_client.get(f"/v1/responses/{told.json()['id']}",
                                 headers=me)).status_code == 404
    assert (await app_client.get(f"/v1/indexes/{index['id']}", headers=me)).status_code == 404
    assert (await app_client.get(f"/v1/conversations/{conv['id']}",
                                 headers=me)).status_code == 404
    assert (await app_client.get(f"/v1/conversations/{others_conv['id']}")).status_code == 200
    assert (await app_client.get(f"/v1/dreams/{dream['id']}", headers=me)).status_code == 404
    async with state.pool.acquire() as conn:
        tombstones = await conn.fetchval(
            "SELECT count(*) FROM memory_tombstones WHERE index_id = $1", index["id"])
        assert tombstones == 10_000
        columns = {r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'memory_tombstones'")}
        assert "content" not in columns and "owner" not in columns
        audit = await conn.fetchrow(
            "SELECT actor, details FROM audit_log WHERE subject = $1 AND action = 'erase_subject'",
            subject)
        assert audit["actor"] == subject and audit["details"]["documents"] == 10_001
    assert (await app_client.get(f"/v1/responses/{other.json()['id']}")).status_code == 200


async def test_administrators_erase_any_subject(app_client: httpx.AsyncClient) -> None:
    issued = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()
    me = {"Authorization": f"Bearer {issued['token']}"}
    await app_client.post("/v1/responses", headers=me,
                          json={"model": "lukhas-matriz", "input": "My name is Ada."})
    denied = await app_client.delete("/v1/identity/memory", headers=me,
                                     params={"subject": "someone"})
    assert denied.status_code == 403
    done = await app_client.delete("/v1/identity/memory", params={"subject": issued["alias"]})
    assert done.status_code == 200 and done.json()["responses"] == 1
