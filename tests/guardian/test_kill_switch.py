"""The kill switch: two administrators (single-use ΛiD tokens, two identities) within the
lane's window engage it, two release it; engaged, every non-probe request is a 503 on every
worker within a second; each step joins the audit chain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.db.migrate import migrate
from app.db.pool import open_pool
from app.guardian.audit import verify
from app.guardian.lanes import DEFAULT_PATH
from tests.conftest import KEY_A
from tests.utils.app import running_app

SWITCH = "/v1/admin/guardian/kill-switch"


async def _single_use(client: httpx.AsyncClient) -> str:
    resp = await client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T3", "once": True})
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["token"]
    return token


async def _approve(client: httpx.AsyncClient, action: str, token: str) -> httpx.Response:
    return await client.post(SWITCH, json={"action": action},
                             headers={"Authorization": f"Bearer {token}"})


def _lanes(tmp_path: Path, window: float) -> Path:
    data = yaml.safe_load(DEFAULT_PATH.read_text())
    data["lanes"]["dev"]["kill_switch"]["window_seconds"] = window
    path = tmp_path / "lanes.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
async def two_workers(fresh_db_url: str,
                      tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Two app instances on one database: two workers of one service."""
    async with running_app(fresh_db_url, tmp_path / "a", key=KEY_A, api_keys=KEY_A) as one, \
            running_app(fresh_db_url, tmp_path / "b", key=KEY_A, api_keys=KEY_A) as two:
        yield one, two


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_two_administrators_engage_and_release_it(
        two_workers: tuple[httpx.AsyncClient, httpx.AsyncClient], fresh_db_url: str) -> None:
    one, two = two_workers
    ask = {"model": "lukhas-matriz", "input": "Hello there"}
    assert (await two.post("/v1/responses", json=ask)).status_code == 200

    first = await _approve(one, "engage", await _single_use(one))
    assert first.status_code == 200, first.text
    assert first.json()["engaged"] is False
    assert first.json()["pending"]["action"] == "engage"
    assert first.json()["pending"]["approvals"] == 1
    assert first.json()["pending"]["required"] == 2
    assert (await two.post("/v1/responses", json=ask)).status_code == 200

    second = await _approve(two, "engage", await _single_use(two))
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["engaged"] is True and body["pending"] is None
    assert len(set(body["approved_by"])) == 2

    started = time.monotonic()
    while True:  # the other worker reads it within a second
        refused = await one.post("/v1/responses", json=ask)
        if refused.status_code == 503:
            break
        assert time.monotonic() - started < 1.0, "a worker still served after a second"
        await asyncio.sleep(0.05)
    for client in (one, two):
        refused = await client.post("/v1/responses", json=ask)
        assert refused.status_code == 503
        assert refused.headers["x-should-retry"] == "false"
        error = refused.json()["error"]
        assert error["code"] == "kill_switch_engaged" and "kill switch" in error["message"]
        assert (await client.get("/v1/models")).status_code == 503
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["guardian"] == {"lane": "dev", "mode": "enforced",
                                            "kill_switch": "engaged"}
        metrics = (await client.get("/metrics")).text
        assert _metric(metrics, 'lukhas_guardian_kill_switch_engaged{lane="dev"}') == 1.0
    # Administrators still reach the switch (and the token issue releasing it takes).
    assert (await one.get(SWITCH)).json()["engaged"] is True

    third = await _approve(two, "release", await _single_use(two))
    assert third.json()["engaged"] is True and third.json()["pending"]["action"] == "release"
    fourth = await _approve(one, "release", await _single_use(one))
    assert fourth.json()["engaged"] is False
    await asyncio.sleep(0.6)
    for client in (one, two):
        assert (await client.post("/v1/responses", json=ask)).status_code == 200

    entries = (await one.get("/v1/admin/audit", params={"action": "guardian.kill_switch.",
                                                        "order": "asc"})).json()["data"]
    assert [e["action"] for e in entries] == [
        "guardian.kill_switch.approved", "guardian.kill_switch.approved",
        "guardian.kill_switch.engaged", "guardian.kill_switch.approved",
        "guardian.kill_switch.approved", "guardian.kill_switch.released"]
    assert entries[2]["details"]["approved_by"] == body["approved_by"]
    pool = await open_pool(fresh_db_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert (await verify(conn)).ok
    finally:
        await pool.close()


async def test_one_administrator_cannot_do_it_alone(
        two_workers: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    one, _ = two_workers
    # Not a single-use token: refused.
    plain = await one.post(SWITCH, json={"action": "engage"})
    assert plain.status_code == 403
    assert plain.json()["error"]["code"] == "single_use_token_required"
    # The same administrator's alias, twice: a token carries a new alias each time, so the
    # one way to present the same identity twice is the same token, which is spent.
    token = await _single_use(one)
    assert (await _approve(one, "engage", token)).status_code == 200
    replayed = await _approve(one, "engage", token)
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "token_replayed"
    assert (await one.get(SWITCH)).json()["engaged"] is False
    # Releasing what is not engaged: a conflict, nothing changes.
    release = await _approve(one, "release", await _single_use(one))
    assert release.status_code == 409
    assert release.json()["error"]["code"] == "kill_switch_already_released"
    # A caller without the admin scope.
    issued = await one.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2", "once": True})
    refused = await _approve(one, "engage", issued.json()["token"])
    assert refused.status_code == 403
    # Unknown fields and actions are 400s naming them.
    for bad in ({"action": "pause"}, {"action": "engage", "force": True}):
        resp = await one.post(SWITCH, json=bad)
        assert resp.status_code == 400, resp.text


async def test_same_subject_cannot_approve_twice(fresh_db_url: str, tmp_path: Path) -> None:
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
        state: Any = client.app.state.lukhas  # type: ignore[attr-defined]
        tokens = state.identity._tokens
        from app.identity.alias import new_alias

        alias = new_alias("LUKHAS", "eu")
        tokens_for_one = [tokens.issue(alias, "T3", once=True).token for _ in range(2)]
        assert (await _approve(client, "engage", tokens_for_one[0])).status_code == 200
        again = await _approve(client, "engage", tokens_for_one[1])
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "kill_switch_already_approved"
        assert (await client.get(SWITCH)).json()["engaged"] is False


async def test_an_approval_lapses_after_the_window(fresh_db_url: str, tmp_path: Path) -> None:
    async with running_app(fresh_db_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           guardian_lanes_file=_lanes(tmp_path, 0.5)) as client:
        assert (await _approve(client, "engage", await _single_use(client))).status_code == 200
        await asyncio.sleep(0.8)
        late = await _approve(client, "engage", await _single_use(client))
        assert late.json()["engaged"] is False
        assert late.json()["pending"]["approvals"] == 1  # the first one lapsed


async def test_the_audit_list_pages_and_refuses_bad_cursors(
        two_workers: tuple[httpx.AsyncClient, httpx.AsyncClient]) -> None:
    one, _ = two_workers
    for _ in range(3):
        await _approve(one, "engage", await _single_use(one))  # each a record (or a 409)
    first = (await one.get("/v1/admin/audit", params={"limit": 2, "order": "asc"})).json()
    assert first["has_more"] is True and len(first["data"]) == 2
    rest = (await one.get("/v1/admin/audit", params={
        "limit": 100, "order": "asc", "after": first["last_id"]})).json()
    ids = [e["id"] for e in first["data"] + rest["data"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert rest["data"][0]["prev_hash"] == first["data"][-1]["hash"]
    for bad in ({"after": str(2**70)}, {"limit": 0}, {"order": "sideways"}, {"cursor": "1"}):
        resp = await one.get("/v1/admin/audit", params=bad)
        assert resp.status_code == 400, (bad, resp.text)


class _Held:
    """The real pool, whose connections are held back while `gate` is closed (a pool kept
    busy by other requests)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.gate = asyncio.Event()
        self.gate.set()

    def acquire(self) -> Any:
        pool, gate = self.pool, self.gate

        class _Wait:
            async def __aenter__(self) -> Any:
                await gate.wait()
                self._ctx = pool.acquire()
                return await self._ctx.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                await self._ctx.__aexit__(*exc)

        return _Wait()


async def test_a_slow_read_of_the_switch_does_not_hold_other_requests(pg_url: str) -> None:
    from app.guardian import kill_switch
    from app.guardian.lanes import KillSwitchRule

    db = await open_pool(pg_url, min_size=1, max_size=2)
    try:
        held = _Held(db)
        switch = kill_switch.KillSwitch(held, KillSwitchRule())
        assert await switch.engaged() is False  # read once
        held.gate.clear()  # the pool is busy from now on
        switch._tried_at -= kill_switch.CACHE_SECONDS  # the cached state runs out
        slow = asyncio.create_task(switch.engaged())  # this one reads again, and waits
        await asyncio.sleep(0.05)
        switch._tried_at -= kill_switch.CACHE_SECONDS  # and runs out again meanwhile
        started = time.perf_counter()
        assert await asyncio.wait_for(switch.engaged(), 1) is False, "the cached state"
        assert time.perf_counter() - started < 0.1
        held.gate.set()
        assert await slow is False
    finally:
        await db.close()


async def test_a_request_asks_the_database_only_when_the_state_read_is_old(
        fresh_db_url: str) -> None:
    # `disengaged` (the middleware's test, without an await) holds only for a released
    # switch read within CACHE_SECONDS; then `engaged` reads it again, and sees a change.
    from app.guardian import kill_switch
    from app.guardian.lanes import KillSwitchRule

    await migrate(fresh_db_url)  # its own database: the switch engaged here stops no other
    db = await open_pool(fresh_db_url, min_size=1, max_size=2)
    try:
        switch = kill_switch.KillSwitch(db, KillSwitchRule())
        assert not switch.disengaged(), "never read: ask"
        assert await switch.engaged() is False
        assert switch.disengaged()
        async with db.acquire() as conn:
            await conn.execute("UPDATE guardian_switch SET engaged = true")
        assert switch.disengaged(), "as read just now"
        switch._read_at -= kill_switch.CACHE_SECONDS
        switch._tried_at -= kill_switch.CACHE_SECONDS
        assert not switch.disengaged(), "read too long ago: ask"
        assert await switch.engaged() is True
        assert not switch.disengaged(), "engaged: every request asks"
    finally:
        await db.close()
