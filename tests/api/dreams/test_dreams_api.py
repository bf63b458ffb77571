"""`/v1/dreams` in-process: the dream runs on the tick, ends, and says what it did."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from app.state import AppState
from tests.utils.dreams import remember, wait_ended

MEMORIES = [
    "Anna lives in Lisbon and loves the sea.",
    "Anna is learning to sail in Lisbon.",
    "Bruno climbs the mountains near Porto every May.",
    "Bruno and Anna met in Porto in May.",
    "Anna does not love the sea.",
    "The bakery on Rua Augusta in Lisbon sells the best pastel de nata.",
]
PHASES = ["queued", "gathering", "associating", "generating", "critiquing", "consolidating",
          "completed"]


def state_of(client: httpx.AsyncClient) -> AppState:
    state: AppState = client.app.state.lukhas  # type: ignore[attr-defined]
    return state


async def new_caller(client: httpx.AsyncClient, tier: str = "T2") -> tuple[dict[str, str], str]:
    """Headers of a caller of its own (a new ΛiD subject), and its subject."""
    token = (await client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": tier})).json()["token"]
    identity = await state_of(client).identities.resolve(token)
    assert identity is not None
    return {"Authorization": f"Bearer {token}"}, identity.subject


async def dream(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    resp = await client.post("/v1/dreams", headers=headers,
                             json={"model": "lukhas-matriz", "seed": "Anna and the sea", **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def ended(client: httpx.AsyncClient, headers: dict[str, str],
                dream_id: str) -> dict[str, Any]:
    return await wait_ended(client, dream_id, headers=headers)


def events(text: str) -> list[dict[str, Any]]:
    """The `data` of each SSE frame, checked against its name."""
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" not in lines:
            continue
        event = orjson.loads(lines["data"])
        assert lines["event"] == event["type"]
        found.append(event)
    return found


async def trace(client: httpx.AsyncClient, headers: dict[str, str], dream_id: str,
                after: int | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"stream": "true"}
    if after is not None:
        params["starting_after"] = after
    resp = await client.get(f"/v1/dreams/{dream_id}", headers=headers, params=params)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "text/event-stream")
    return events(resp.text)


async def test_a_dream_is_queued_at_once_and_runs_through_every_phase(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    await remember(state_of(app_client), subject, MEMORIES)
    created = await dream(app_client, headers, metadata={"topic": "sea"})
    assert created["object"] == "dream" and created["status"] == "queued"
    assert created["id"].startswith("dream_") and created["metadata"] == {"topic": "sea"}
    assert created["scenarios"] == [] and created["trace_events"] == 1
    done = await ended(app_client, headers, created["id"])
    assert done["status"] == "completed", done
    assert done["reason"] is None and done["ended_at"] >= done["started_at"]
    summary = done["summary"]
    assert summary["memories"] == len(MEMORIES) and summary["links"] > 0
    assert summary["scenarios"] == len(done["scenarios"]) == 5
    assert summary["accepted"] + summary["rejected"] == 5
    steps = await trace(app_client, headers, created["id"])
    assert [e["sequence_number"] for e in steps] == list(range(len(steps)))
    assert len(steps) == done["trace_events"]
    moves = [e for e in steps if e["type"] == f"dream.{e['status']}" and "to" in e["data"]]
    assert [e["status"] for e in moves] == PHASES
    for move in moves[1:]:
        assert move["data"]["phase_ms"] >= 0, "each transition says how long the phase took"
    assert [e["elapsed_ms"] for e in steps] == sorted(e["elapsed_ms"] for e in steps)
    recalled = next(e for e in steps if e["type"] == "dream.memories")["data"]["memories"]
    assert {m["text"] for m in recalled} == set(MEMORIES)
    assert all(m["source"] == "memory" and "score" in m for m in recalled)
    ids = {m["id"] for m in recalled}
    for scenario in done["scenarios"]:
        assert scenario["cites"] and set(scenario["cites"]) <= ids
        assert scenario["verdict"] in ("accepted", "rejected")
    # The scenario joining "loves the sea" and "does not love the sea" is caught.
    contradicted = [s for s in done["scenarios"] if s["critique"]["contradictions"]]
    assert contradicted and all(s["verdict"] == "rejected" for s in contradicted)
    again = await trace(app_client, headers, created["id"], after=3)
    assert [e["sequence_number"] for e in again] == list(range(4, len(steps)))


async def test_the_same_memories_and_seed_give_the_same_dream(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    await remember(state_of(app_client), subject, MEMORIES)

    async def run() -> tuple[list[Any], list[Any]]:
        made = await dream(app_client, headers, seed="a summer in Lisbon")
        done = await ended(app_client, headers, made["id"])
        steps = await trace(app_client, headers, made["id"])
        # Ids and timings differ from run to run; everything else must not.
        scenarios = [{k: v for k, v in s.items() if k != "id"} | {
            "critique": {k: v for k, v in s["critique"].items() if k != "scenario"}}
            for s in done["scenarios"]]
        shape = [(e["type"], orjson.dumps({k: v for k, v in e["data"].items()
                                           if k not in ("phase_ms",)}).decode()
                  .replace(made["id"].removeprefix("dream_")[:24], "ID"))
                 for e in steps]
        return scenarios, shape

    assert await run() == await run()


async def test_a_caller_with_no_memories_is_told_so_and_the_dream_completes(
        app_client: httpx.AsyncClient) -> None:
    headers, _ = await new_caller(app_client)
    done = await ended(app_client, headers, (await dream(app_client, headers))["id"])
    assert done["status"] == "completed"
    assert done["scenarios"] == [] and done["summary"]["memories"] == 0
    notes = " ".join(done["summary"]["notes"])
    assert "no long-term memory" in notes and "nothing to recombine" in notes


async def test_streamed_create_follows_the_trace_to_the_end(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    await remember(state_of(app_client), subject, MEMORIES[:3])
    resp = await app_client.post("/v1/dreams", headers=headers, json={
        "model": "lukhas-matriz", "seed": "sailing", "stream": True})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(
        "text/event-stream")
    got = events(resp.text)
    assert got[0]["type"] == "dream.queued" and got[0]["sequence_number"] == 0
    assert got[-1]["type"] == "dream.completed"
    assert got[-1]["data"]["summary"]["memories"] == 3


async def test_an_unstored_dream_is_gone_once_streamed(app_client: httpx.AsyncClient) -> None:
    headers, _ = await new_caller(app_client)
    resp = await app_client.post("/v1/dreams", headers=headers, json={
        "model": "lukhas-matriz", "seed": "x", "stream": True, "store": False})
    got = events(resp.text)
    assert got[-1]["type"] == "dream.completed"
    gone = await app_client.get(f"/v1/dreams/{got[0]['dream_id']}", headers=headers)
    assert gone.status_code == 404
    unstreamed = await app_client.post("/v1/dreams", headers=headers, json={
        "model": "lukhas-matriz", "seed": "x", "store": False})
    assert unstreamed.status_code == 400 and unstreamed.json()["error"]["param"] == "store"


async def test_constraints_shape_what_is_recalled_and_accepted(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    state = state_of(app_client)
    await remember(state, subject, MEMORIES[:4])
    await remember(state, subject, ["Anna rows across the river at dawn."], lane="sport")
    done = await ended(app_client, headers, (await dream(app_client, headers, constraints={
        "max_scenarios": 2, "must_exclude": ["Porto"], "must_include": ["Lisbon"],
        "lanes": ["default"]}))["id"])
    assert done["status"] == "completed"
    steps = await trace(app_client, headers, done["id"])
    recalled = next(e for e in steps if e["type"] == "dream.memories")["data"]["memories"]
    texts = {m["text"] for m in recalled}
    assert texts == {MEMORIES[0], MEMORIES[1]}, "Porto excluded, the sport lane not drawn on"
    assert len(done["scenarios"]) <= 2
    for scenario in done["scenarios"]:
        lacks = "Lisbon" not in scenario["text"]
        assert (scenario["verdict"] == "rejected") == (lacks or bool(
            scenario["critique"]["contradictions"]))
        assert "Porto" not in scenario["text"]


async def test_named_indexes_are_sources_too(app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    index = await remember(state_of(app_client), subject, MEMORIES[:2], index_name="travel")
    done = await ended(app_client, headers, (await dream(app_client, headers, constraints={
        "sources": {"memory": False, "indexes": [index.id]}}))["id"])
    assert done["summary"]["memories"] == 2
    steps = await trace(app_client, headers, done["id"])
    recalled = next(e for e in steps if e["type"] == "dream.memories")["data"]["memories"]
    assert {(m["source"], m["index_id"]) for m in recalled} == {("index", index.id)}
    proposals = [e for e in steps if e["type"] == "dream.proposal"]
    assert proposals == [], "a dream never folds an index's documents"


async def test_consolidation_applies_through_the_guardian(app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    state = state_of(app_client)
    await remember(state, subject, ["Carla bakes bread in Braga on Sundays.",
                                    "Carla sells her Braga bread at the market."])
    done = await ended(app_client, headers, (await dream(app_client, headers, seed="Carla",
                                                         constraints={"max_scenarios": 1}))["id"])
    steps = await trace(app_client, headers, done["id"])
    [proposal] = [e["data"]["proposal"] for e in steps if e["type"] == "dream.proposal"]
    assert proposal["outcome"] == "applied" and done["summary"]["applied"] == 1
    async with state.pool.acquire() as conn:
        folds = await conn.fetch("SELECT id, fold, superseded, content FROM memory_documents"
                                 " WHERE owner = $1 ORDER BY superseded", subject)
        row = await conn.fetchrow("SELECT representative, members, depth FROM memory_folds"
                                  " WHERE id = $1 AND owner = $2", proposal["fold"], subject)
    assert {r["fold"] for r in folds} == {proposal["fold"]}
    assert sorted(r["id"] for r in folds) == proposal["members"]
    # A fold as consolidation makes it: its newest member speaks for it, the other is
    # superseded (recall no longer returns it), and the fold says the proposal's statement.
    speaks, older = folds
    assert (speaks["superseded"], older["superseded"]) == (False, True)
    assert speaks["content"] == proposal["statement"]
    assert row is not None and row["representative"] == speaks["id"]
    assert sorted(row["members"]) == proposal["members"] and row["depth"] == 1

    # A change whose text the output policy would redact is refused.
    headers, subject = await new_caller(app_client)
    key = "lk-" + "a1b2c3d4" * 3
    await remember(state, subject, [f"Dora keeps the key {key} in Faro.",
                                    f"Dora lost the key {key} in Faro."])
    done = await ended(app_client, headers, (await dream(app_client, headers, seed="Dora",
                                                         constraints={"max_scenarios": 1}))["id"])
    steps = await trace(app_client, headers, done["id"])
    [proposal] = [e["data"]["proposal"] for e in steps if e["type"] == "dream.proposal"]
    assert proposal["outcome"] == "refused" and "output policy" in proposal["reason"]
    async with state.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM memory_documents WHERE owner = $1"
                                   " AND fold IS NOT NULL", subject) == 0


async def test_budgets_end_a_dream_incomplete_with_the_reason(
        app_client: httpx.AsyncClient) -> None:
    headers, subject = await new_caller(app_client)
    await remember(state_of(app_client), subject, MEMORIES)
    short = await ended(app_client, headers, (await dream(app_client, headers, constraints={
        "max_steps": 9}))["id"])
    assert short["status"] == "incomplete" and short["reason"]["code"] == "max_steps"
    assert short["trace_events"] <= 9
    # The message tells what the budget left, in the trace's own count.
    left = 9 - short["trace_events"] + 1  # the incomplete event itself is one of them
    assert f"its max_steps (9) leaves {left}." in short["reason"]["message"]
    hurried = await ended(app_client, headers, (await dream(app_client, headers, constraints={
        "time_budget_seconds": 0.0001}))["id"])
    assert hurried["status"] == "incomplete" and hurried["reason"]["code"] == "time_budget"
    last = (await trace(app_client, headers, hurried["id"]))[-1]
    assert last["type"] == "dream.incomplete"
    assert last["data"]["reason"] == hurried["reason"]


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    ({"temperature": 1}, 400, "temperature", "unknown_parameter"),
    ({"constraints": {"max_depth": 3}}, 400, "constraints.max_depth", "unknown_parameter"),
    ({"constraints": {"sources": {"files": []}}}, 400, "constraints.sources.files",
     "unknown_parameter"),
    ({"seed": None}, 400, "seed", None),
    ({"seed": "   "}, 400, "seed", "empty_input"),
    ({"model": "no-such-model"}, 404, "model", "model_not_found"),
    ({"constraints": {"max_steps": 8}}, 400, "constraints.max_steps", "invalid_value"),
    ({"constraints": {"max_scenarios": 51}}, 400, "constraints.max_scenarios", "invalid_value"),
    ({"constraints": {"time_budget_seconds": 0}}, 400, "constraints.time_budget_seconds",
     "invalid_value"),
    ({"constraints": {"lanes": ["no spaces"]}}, 400, "constraints.lanes[0]", "invalid_value"),
    ({"constraints": {"must_include": ["sea"], "must_exclude": ["SEA"]}}, 400,
     "constraints.must_exclude", None),
    ({"constraints": {"sources": {"memory": False}}}, 400, "constraints.sources", None),
    ({"constraints": {"sources": {"indexes": ["idx_nope"]}}}, 404,
     "constraints.sources.indexes[0]", "index_not_found"),
    ({"metadata": {"k": "v" * 513}}, 400, "metadata", "invalid_value"),
    ({"stream": "sometimes"}, 400, "stream", "invalid_value"),
])
async def test_bad_requests_name_what_is_wrong(app_client: httpx.AsyncClient, body: dict[str, Any],
                                               status: int, param: str,
                                               code: str | None) -> None:
    resp = await app_client.post("/v1/dreams", json={
        "model": "lukhas-matriz", "seed": "x", **body})
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code


async def test_dreams_are_the_callers_own_and_need_the_scope(
        app_client: httpx.AsyncClient) -> None:
    mine, _ = await new_caller(app_client)
    theirs, _ = await new_caller(app_client)
    made = await dream(app_client, mine)
    for method, path in (("GET", ""), ("POST", "/cancel"), ("DELETE", "")):
        resp = await app_client.request(method, f"/v1/dreams/{made['id']}{path}",
                                        headers=theirs)
        assert resp.status_code == 404, (method, path)
        assert resp.json()["error"]["code"] == "dream_not_found"
    listed = (await app_client.get("/v1/dreams", headers=theirs)).json()
    assert listed["data"] == []
    t1, _ = await new_caller(app_client, "T1")
    for method, path in (("POST", "/v1/dreams"), ("GET", "/v1/dreams"),
                         ("GET", f"/v1/dreams/{made['id']}")):
        resp = await app_client.request(method, path, headers=t1,
                                        json={"model": "lukhas-matriz", "seed": "x"})
        assert resp.status_code == 403, (method, path)
        assert "'dreams'" in resp.json()["error"]["message"]


async def test_list_pagination_and_delete(app_client: httpx.AsyncClient) -> None:
    headers, _ = await new_caller(app_client)
    made = [(await dream(app_client, headers, seed=f"s{i}"))["id"] for i in range(3)]
    first = (await app_client.get("/v1/dreams", headers=headers, params={"limit": 2})).json()
    assert first["object"] == "list" and first["has_more"]
    assert [d["id"] for d in first["data"]] == made[::-1][:2]
    rest = (await app_client.get("/v1/dreams", headers=headers,
                                 params={"after": first["last_id"]})).json()
    assert [d["id"] for d in rest["data"]] == [made[0]] and not rest["has_more"]
    asc = (await app_client.get("/v1/dreams", headers=headers,
                                params={"order": "asc"})).json()
    assert [d["id"] for d in asc["data"]] == made
    deleted = await app_client.delete(f"/v1/dreams/{made[1]}", headers=headers)
    assert deleted.json() == {"id": made[1], "object": "dream.deleted", "deleted": True}
    assert (await app_client.get(f"/v1/dreams/{made[1]}", headers=headers)).status_code == 404
    assert (await app_client.delete(f"/v1/dreams/{made[1]}",
                                    headers=headers)).status_code == 404


async def test_cancel_before_it_ends_and_not_after(app_client: httpx.AsyncClient) -> None:
    headers, _ = await new_caller(app_client)
    done = await ended(app_client, headers, (await dream(app_client, headers))["id"])
    late = await app_client.post(f"/v1/dreams/{done['id']}/cancel", headers=headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "dream_ended"


async def test_unknown_query_parameters_are_named(app_client: httpx.AsyncClient) -> None:
    listed = await app_client.get("/v1/dreams", params={"limit": 2, "status": "completed"})
    assert listed.status_code == 400, listed.text
    assert listed.json()["error"]["param"] == "status"
    assert listed.json()["error"]["code"] == "unknown_parameter"


async def test_what_a_dream_says_passes_the_output_policy(app_client: httpx.AsyncClient) -> None:
    """Recalled memories, scenarios and proposals leave through the output rules, as an
    answer does: a card number the caller once told is redacted wherever the dream shows it;
    the stored memory itself is unchanged."""
    card = "4111 1111 1111 1111"
    headers, subject = await new_caller(app_client)
    state = state_of(app_client)
    await remember(state, subject, [f"Anna paid in Lisbon with card {card}.",
                                    "Anna flew to Lisbon in May."])
    done = await ended(app_client, headers, (await dream(app_client, headers, seed="Anna",
                                                         constraints={"max_scenarios": 2}))["id"])
    steps = await trace(app_client, headers, done["id"])
    shown = orjson.dumps([steps, done]).decode()
    assert "Lisbon" in shown and "[pii]" in shown
    assert card not in shown and card.replace(" ", "") not in shown
    async with state.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM memory_documents WHERE owner = $1"
                                   " AND content LIKE $2", subject, f"%{card}%") == 1
