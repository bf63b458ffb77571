"""The identity API and ΛiD tokens over HTTP, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import KEY_A
from tests.utils.app import running_app


async def mint(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    resp = await client.post("/v1/identity/tokens",
                             json={"realm": "LUKHAS", "zone": "eu", "tier": "T2", **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_me_with_api_key_and_with_a_token(app_client: httpx.AsyncClient) -> None:
    me = (await app_client.get("/v1/identity/me")).json()
    assert me["kind"] == "api_key" and me["tier"] == "T3" and "admin" in me["scopes"]
    issued = await mint(app_client, ttl_seconds=600)
    assert issued["alias"].startswith("lid#LUKHAS/eu/v1.")
    me = (await app_client.get("/v1/identity/me", headers=bearer(issued["token"]))).json()
    assert me == {"object": "identity", "subject": issued["alias"], "kind": "lid",
                  "tier": "T2", "scopes": issued["scopes"], "token_id": issued["jti"],
                  "expires_at": issued["expires_at"]}


async def test_scopes_are_enforced_per_route(app_client: httpx.AsyncClient) -> None:
    t1 = (await mint(app_client, tier="T1"))["token"]
    ok = await app_client.get("/v1/models", headers=bearer(t1))
    assert ok.status_code == 200
    denied = await app_client.post("/v1/responses", headers=bearer(t1),
                                   json={"model": "lukhas-matriz", "input": "hi"})
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "insufficient_permissions" and "responses.write" in error["message"]
    t2 = (await mint(app_client))["token"]
    admin_only = await app_client.post("/v1/identity/tokens", headers=bearer(t2),
                                       json={"realm": "R", "zone": "Z", "tier": "T3"})
    assert admin_only.status_code == 403 and "'admin'" in admin_only.json()["error"]["message"]
    narrow = (await mint(app_client, scopes=["models.read"]))["token"]
    chat = await app_client.post("/v1/chat/completions", headers=bearer(narrow), json={
        "model": "lukhas-matriz", "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 403 and "'chat'" in chat.json()["error"]["message"]
    # The scope is checked before the body: an invalid body still gets the 403 first.
    for body in ({"model": "lukhas-matriz", "messages": "not a list"}, {"messages": []}):
        bad = await app_client.post("/v1/chat/completions", headers=bearer(narrow), json=body)
        assert bad.status_code == 403 and "'chat'" in bad.json()["error"]["message"]


async def test_failures_have_their_own_codes(app_client: httpx.AsyncClient) -> None:
    token = (await mint(app_client))["token"]
    head, body, sig = token.split(".")
    cases = {
        "token_malformed": "a.b.c",
        "token_bad_signature": f"{head}.{body}.{sig[:-4]}AAAA",
    }
    for code, bad in cases.items():
        resp = await app_client.get("/v1/identity/me", headers=bearer(bad))
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == code


async def test_revoke_and_single_use(app_client: httpx.AsyncClient) -> None:
    issued = await mint(app_client)
    assert (await app_client.get("/v1/identity/me", headers=bearer(issued["token"]))).is_success
    revoked = await app_client.post("/v1/identity/revoke", json={"token": issued["token"]})
    assert revoked.json()["revoked"] is True
    after = await app_client.get("/v1/identity/me", headers=bearer(issued["token"]))
    assert after.status_code == 401 and after.json()["error"]["code"] == "token_revoked"
    by_jti = await mint(app_client)
    await app_client.post("/v1/identity/revoke", json={"jti": by_jti["jti"]})
    gone = await app_client.get("/v1/identity/me", headers=bearer(by_jti["token"]))
    assert gone.json()["error"]["code"] == "token_revoked"
    once = (await mint(app_client, once=True))["token"]
    assert (await app_client.get("/v1/identity/me", headers=bearer(once))).is_success
    again = await app_client.get("/v1/identity/me", headers=bearer(once))
    assert again.status_code == 401 and again.json()["error"]["code"] == "token_replayed"


async def test_issue_validation(app_client: httpx.AsyncClient) -> None:
    for body, param in (({"tier": "T9"}, "tier"), ({"scopes": ["admin"]}, "scopes"),
                        ({"ttl_seconds": 10**9}, "ttl_seconds"), ({"realm": "a b"}, "realm")):
        resp = await app_client.post("/v1/identity/tokens", json={
            "realm": "R", "zone": "Z", "tier": "T2", **body})
        assert resp.status_code == 400 and resp.json()["error"]["param"] == param, resp.text
    resp = await app_client.post("/v1/identity/revoke", json={})
    assert resp.status_code == 400


async def test_stored_responses_belong_to_the_alias(app_client: httpx.AsyncClient) -> None:
    alice = (await mint(app_client))["token"]
    bob = (await mint(app_client))["token"]
    made = await app_client.post("/v1/responses", headers=bearer(alice), json={
        "model": "lukhas-matriz", "input": "My name is Ada Lovelace."})
    rid = made.json()["id"]
    assert (await app_client.get(f"/v1/responses/{rid}", headers=bearer(alice))).is_success
    assert (await app_client.get(f"/v1/responses/{rid}", headers=bearer(bob))).status_code == 404


async def test_api_keys_carry_the_configured_tier(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           api_key_tier="T1") as client:
        assert (await client.get("/v1/models")).status_code == 200
        me = (await client.get("/v1/identity/me")).json()
        assert me["tier"] == "T1" and "admin" not in me["scopes"]
        denied = await client.post("/v1/responses",
                                   json={"model": "lukhas-matriz", "input": "hi"})
        assert denied.status_code == 403
