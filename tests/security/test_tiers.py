"""Tier upgrade and downgrade attempts: a credential gets its tier's scopes and no more.

Edited claims break the signature; scopes beyond the tier are refused at issue and, in a
token signed anyway (an old or buggy issuer), never apply; only the admin scope issues,
revokes or erases for others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.identity.tiers import load_tiers
from tests.conftest import KEY_A, KEY_B
from tests.utils.app import running_app
from tests.utils.jose import hmac_signed, parts, segment

pytestmark = pytest.mark.security

SECRET = b"k1-secret-0123456789abcdef0123456789abcdef"
LID_KEYS = '{"k1": "k1-secret-0123456789abcdef0123456789abcdef"}'
TIERS = load_tiers()

# One route per scope, with a body that would succeed for a caller holding the scope.
ROUTES: dict[str, tuple[str, str, Any]] = {
    "models.read": ("GET", "/v1/models", None),
    "embeddings": ("POST", "/v1/embeddings", {"model": "lukhas-hash-v1", "input": "hi"}),
    "moderations": ("POST", "/v1/moderations", {"input": "hi"}),
    "responses.write": ("POST", "/v1/responses",
                        {"model": "lukhas-matriz", "input": "hi", "store": False}),
    "chat": ("POST", "/v1/chat/completions",
             {"model": "lukhas-matriz", "messages": [{"role": "user", "content": "hi"}]}),
    "indexes.read": ("GET", "/v1/indexes", None),
    "identity.read": ("GET", "/v1/identity/me", None),
    "admin": ("POST", "/v1/identity/tokens", {"realm": "R", "zone": "Z", "tier": "T1"}),
}


@pytest.fixture
async def app(pg_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # Failed-authentication throttling is off: these tests present hundreds of bad tokens
    # for one alias from one address on purpose (the throttle has tests of its own).
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, lid_keys=LID_KEYS,
                           long_term_memory=False, auth_throttle=False) as client:
        yield client


async def issue(app: httpx.AsyncClient, tier: str, **extra: Any) -> dict[str, Any]:
    resp = await app.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": tier, **extra})
    assert resp.status_code == 200, resp.text
    issued: dict[str, Any] = resp.json()
    return issued


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(app: httpx.AsyncClient, scope: str, token: str) -> httpx.Response:
    method, path, body = ROUTES[scope]
    return await app.request(method, path, json=body, headers=bearer(token))


@pytest.mark.parametrize("tier", ["T1", "T2", "T3"])
async def test_each_tier_reaches_exactly_its_scopes(app: httpx.AsyncClient, tier: str) -> None:
    token = (await issue(app, tier))["token"]
    for scope in ROUTES:
        resp = await call(app, scope, token)
        if scope in TIERS.scopes(tier):
            assert resp.status_code == 200, (tier, scope, resp.text)
        else:
            assert resp.status_code == 403, (tier, scope, resp.text)
            assert resp.json()["error"]["code"] == "insufficient_permissions"


async def test_edited_claims_break_the_signature(app: httpx.AsyncClient) -> None:
    token = (await issue(app, "T1"))["token"]
    head, _, sig = token.split(".")
    claims = parts(token)[1]
    for edit in [{"tier": "T3"}, {"tier": "T2"}, {"scope": f"{claims['scope']} admin"},
                 {"tier": "T3", "scope": " ".join(sorted(TIERS.scopes("T3")))},
                 {"exp": claims["exp"] + 10**6}, {"sub": parts(
                     (await issue(app, "T3"))["token"])[1]["sub"]}]:
        forged = f"{head}.{segment({**claims, **edit})}.{sig}"
        for scope in ("admin", "responses.write", "identity.read"):
            resp = await call(app, scope, forged)
            assert resp.status_code == 401, (edit, scope, resp.text)
            assert resp.json()["error"]["code"] == "token_bad_signature"


async def test_scopes_beyond_the_tier_are_refused_at_issue(app: httpx.AsyncClient) -> None:
    for tier, scopes in [("T1", ["admin"]), ("T1", ["chat"]), ("T2", ["admin"]),
                         ("T1", ["models.read", "responses.write"]), ("T2", ["root"])]:
        resp = await app.post("/v1/identity/tokens", json={
            "realm": "R", "zone": "Z", "tier": tier, "scopes": scopes})
        assert resp.status_code == 400, (tier, scopes, resp.text)
        assert resp.json()["error"]["param"] == "scopes"
    unknown = await app.post("/v1/identity/tokens", json={"realm": "R", "zone": "Z",
                                                          "tier": "T4"})
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "tier"


async def test_a_signed_scope_claim_beyond_the_tier_gets_only_the_tiers_scopes(
    app: httpx.AsyncClient,
) -> None:
    header, claims, _ = parts((await issue(app, "T1"))["token"])
    everything = " ".join(sorted(TIERS.scopes("T3")))
    token = hmac_signed(header, {**claims, "scope": everything}, SECRET)
    me = (await app.get("/v1/identity/me", headers=bearer(token))).json()
    assert me["tier"] == "T1" and set(me["scopes"]) == TIERS.scopes("T1")
    for scope in ("admin", "responses.write", "chat", "indexes.read"):
        assert (await call(app, scope, token)).status_code == 403, scope


async def test_a_narrowed_token_is_held_to_its_narrow_scopes(app: httpx.AsyncClient) -> None:
    """Downgrade: a T3 token issued with a subset keeps only that subset."""
    token = (await issue(app, "T3", scopes=["models.read", "identity.read"]))["token"]
    assert (await call(app, "models.read", token)).status_code == 200
    for scope in ("admin", "responses.write", "chat", "embeddings"):
        assert (await call(app, scope, token)).status_code == 403, scope


async def test_admin_routes_refuse_every_non_admin_credential(
    app: httpx.AsyncClient, pg_url: str, tmp_path: Path,
) -> None:
    victim = await issue(app, "T2")
    await app.post("/v1/responses", headers=bearer(victim["token"]),
                   json={"model": "lukhas-matriz", "input": "My name is Ada."})
    non_admin = [(await issue(app, "T1"))["token"], (await issue(app, "T2"))["token"],
                 (await issue(app, "T3", scopes=sorted(TIERS.scopes("T3") - {"admin"})))[
                     "token"]]
    attempts: list[tuple[str, str, Any, dict[str, Any] | None]] = [
        ("POST", "/v1/identity/tokens", {"realm": "R", "zone": "Z", "tier": "T3"}, None),
        ("POST", "/v1/identity/tokens", {"realm": "R", "zone": "Z", "tier": "T1"}, None),
        ("POST", "/v1/identity/revoke", {"jti": victim["jti"]}, None),
        ("POST", "/v1/identity/revoke", {"token": victim["token"]}, None),
        ("DELETE", "/v1/identity/memory", None, {"subject": victim["alias"]}),
    ]
    for token in non_admin:
        for method, path, body, params in attempts:
            resp = await app.request(method, path, json=body, params=params,
                                     headers=bearer(token))
            assert resp.status_code == 403, (path, resp.text)
            assert resp.json()["error"]["code"] == "insufficient_permissions"
    # Nothing happened: the victim's token still works and its response is still there.
    me = await app.get("/v1/identity/me", headers=bearer(victim["token"]))
    assert me.status_code == 200
    # An API key of a lower tier is no administrator either.
    async with running_app(pg_url, tmp_path / "t1", key=KEY_B, api_keys=KEY_B,
                           api_key_tier="T1", lid_keys=LID_KEYS,
                           long_term_memory=False, auth_throttle=False) as low:
        for method, path, body, params in attempts:
            resp = await low.request(method, path, json=body, params=params)
            assert resp.status_code == 403, (path, resp.text)
    erased = await app.delete("/v1/identity/memory", params={"subject": victim["alias"]})
    assert erased.status_code == 200 and erased.json()["responses"] == 1, \
        "the victim's stored response survived every refused attempt"
