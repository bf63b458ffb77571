"""Accounts over HTTP, in-process, on the real PostgreSQL: creation, password logins (T1),
TOTP enrolment and logins (T2), the admin's T3 grant, lockout, rehashing, and the audit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.db.repositories import audit
from app.identity.alias import parse_alias
from app.identity.totp import TotpSeal
from app.settings import Settings
from tests.conftest import KEY_A
from tests.utils.accounts import (
    FAST_HASHING,
    PASSWORD,
    away_from_step_edge,
    bearer,
    code_at,
    create_account,
    enrol_totp,
    login,
    username,
)
from tests.utils.app import running_app


@pytest.fixture
async def admin(pg_url: str, redis_url: str,
                tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the real PostgreSQL and Redis, with the failure throttle off (so that
    lockouts, not the throttle, answer here; tests/security/test_auth_throttle.py has it on)."""
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, redis_url=redis_url,
                           **FAST_HASHING, auth_throttle=False) as client:
        yield client


async def audit_actions(pg_url: str, account_id: str) -> list[tuple[str, dict[str, Any]]]:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                                  schema="pg_catalog")
        return [(r["action"], r["details"]) for r in await audit.for_subject(conn, account_id)]
    finally:
        await conn.close()


async def column(pg_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(pg_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_create_an_account(admin: httpx.AsyncClient, pg_url: str) -> None:
    name = username("Alice")
    account = await create_account(admin, name)
    assert account["object"] == "identity.account" and account["username"] == name
    assert account["id"].startswith("acct_") and account["max_tier"] == "T2"
    assert account["totp_enabled"] is False and account["locked_until"] is None
    assert parse_alias(account["alias"]).realm == "LUKHAS"
    stored = await column(pg_url, "SELECT password_hash FROM accounts WHERE id = $1",
                          account["id"])
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$") and PASSWORD not in stored
    assert await audit_actions(pg_url, account["id"]) == [
        ("account.created", {"username": name, "alias": account["alias"]})]
    fetched = await admin.get(f"/v1/identity/accounts/{account['id']}")
    assert fetched.json() == account


async def test_duplicate_username_in_any_case_is_409(admin: httpx.AsyncClient) -> None:
    name = username("bob")
    await create_account(admin, name)
    again = await admin.post("/v1/identity/accounts",
                             json={"username": name.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.headers["x-should-retry"] == "false"
    assert again.json()["error"] == {
        "message": f"The username '{name.upper()}' is taken.",
        "type": "invalid_request_error", "param": "username", "code": "username_taken"}


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"username": "ok-name-1", "password": "short"}, "password", "weak_password"),
    ({"username": "ok-name-2", "password": "aaaaaaaaaaaaaaaa"}, "password", "weak_password"),
    ({"username": "Same-As-Pass", "password": "same-as-pass"}, "password", "weak_password"),
    ({"username": "x", "password": PASSWORD}, "username", "invalid_username"),
    ({"username": "has space", "password": PASSWORD}, "username", "invalid_username"),
    ({"password": PASSWORD}, "username", "missing_required_parameter"),
    ({"username": "ok-name-3", "password": PASSWORD, "realm": "bad realm"}, "realm",
     "invalid_value"),
])
async def test_bad_account_requests_are_400_naming_the_param(
    admin: httpx.AsyncClient, body: dict[str, Any], param: str, code: str,
) -> None:
    resp = await admin.post("/v1/identity/accounts", json=body)
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


async def test_only_admins_manage_accounts(admin: httpx.AsyncClient) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    for method, path, body in (
        ("POST", "/v1/identity/accounts", {"username": username(), "password": PASSWORD}),
        ("GET", f"/v1/identity/accounts/{account['id']}", None),
        ("POST", f"/v1/identity/accounts/{account['id']}/tier", {"tier": "T3"}),
        ("POST", f"/v1/identity/accounts/{account['id']}/unlock", None),
        ("DELETE", f"/v1/identity/accounts/{account['id']}/totp", None),
    ):
        resp = await admin.request(method, path, json=body, headers=bearer(t1))
        assert resp.status_code == 403 and "'admin'" in resp.json()["error"]["message"]
    missing = await admin.get("/v1/identity/accounts/acct_nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "account_not_found"


async def test_password_login_gives_a_t1_token(admin: httpx.AsyncClient) -> None:
    account = await create_account(admin)
    anonymous = httpx.AsyncClient(transport=admin._transport, base_url=str(admin.base_url))
    async with anonymous:  # the login itself needs no credential
        resp = await login(anonymous, account["username"].upper())
    assert resp.status_code == 200, resp.text
    token = resp.json()
    assert token["object"] == "identity.token" and token["token_type"] == "bearer"
    assert (token["tier"], token["factors"], token["account_id"], token["alias"]) == (
        "T1", ["password"], account["id"], account["alias"])
    assert token["scopes"] == ["embeddings", "identity.read", "models.read", "moderations"]
    assert token["expires_in"] == 3600
    me = (await admin.get("/v1/identity/me", headers=bearer(token["token"]))).json()
    assert (me["subject"], me["tier"], me["token_id"]) == (account["alias"], "T1",
                                                           token["jti"])
    denied = await admin.post("/v1/responses", headers=bearer(token["token"]),
                              json={"model": "lukhas-matriz", "input": "hi"})
    assert denied.status_code == 403


async def test_login_honours_scopes_and_ttl(admin: httpx.AsyncClient) -> None:
    account = await create_account(admin)
    narrow = await login(admin, account["username"], scopes=["models.read"], ttl_seconds=120)
    assert narrow.status_code == 200
    assert narrow.json()["scopes"] == ["models.read"] and narrow.json()["expires_in"] == 120
    beyond = await login(admin, account["username"], scopes=["chat"])
    assert beyond.status_code == 400 and beyond.json()["error"]["param"] == "scopes"
    unknown = await login(admin, account["username"], scopes=["root"])
    assert unknown.json()["error"]["code"] == "unknown_scope"
    too_long = await login(admin, account["username"], ttl_seconds=10**9)
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "ttl_seconds"


async def test_wrong_username_and_wrong_password_answer_alike(
    admin: httpx.AsyncClient, pg_url: str,
) -> None:
    account = await create_account(admin)
    wrong_password = await login(admin, account["username"], "not the password at all")
    unknown_user = await login(admin, username("nobody"), "not the password at all")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json() == {"error": {
        "message": "Incorrect username, password or one-time code.",
        "type": "invalid_request_error", "param": None, "code": "invalid_credentials"}}
    assert set(wrong_password.headers) - {"x-request-id", "content-length"} == \
        set(unknown_user.headers) - {"x-request-id", "content-length"}
    actions = await audit_actions(pg_url, account["id"])
    assert actions[-1] == ("account.auth_failed", {"reason": "password", "consecutive": 1})


async def test_totp_enrolment_and_t2_login(admin: httpx.AsyncClient, pg_url: str) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    away_from_step_edge()
    started = (await admin.post("/v1/identity/totp", headers=bearer(t1))).json()
    assert started["object"] == "identity.totp_enrollment"
    assert started["provisioning_uri"] == (
        f"otpauth://totp/LUKHAS:{account['username']}?secret={started['secret']}"
        "&issuer=LUKHAS")
    assert (started["digits"], started["period"], started["algorithm"]) == (6, 30, "SHA1")
    # Not on yet: a code does not count before the enrolment is confirmed.
    early = await login(admin, account["username"], totp_code=code_at(started["secret"]))
    assert early.status_code == 400 and early.json()["error"]["code"] == "totp_not_enabled"
    wrong = await admin.post("/v1/identity/totp/confirm", headers=bearer(t1),
                             json={"code": "000000" if code_at(started["secret"], -1) != "000000"
                                   else "111111"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "code"
    confirmed = await admin.post("/v1/identity/totp/confirm", headers=bearer(t1),
                                 json={"code": code_at(started["secret"], -1)})
    assert confirmed.json()["totp_enabled"] is True
    again = await admin.post("/v1/identity/totp", headers=bearer(t1))
    assert again.status_code == 409 and again.json()["error"]["code"] == "totp_already_enabled"

    code = code_at(started["secret"])
    t2 = await login(admin, account["username"], totp_code=code)
    assert t2.status_code == 200, t2.text
    assert (t2.json()["tier"], t2.json()["factors"]) == ("T2", ["password", "totp"])
    ok = await admin.post("/v1/responses", headers=bearer(t2.json()["token"]),
                          json={"model": "lukhas-matriz", "input": "What is 2+3?"})
    assert ok.status_code == 200, ok.text
    replay = await login(admin, account["username"], totp_code=code)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_credentials"
    # The confirming code's step is used up too, and an earlier step never comes back.
    older = await login(admin, account["username"], totp_code=code_at(started["secret"], -1))
    assert older.status_code == 401
    password_only = await login(admin, account["username"])
    assert password_only.json()["tier"] == "T1"
    actions = [a for a, _ in await audit_actions(pg_url, account["id"])]
    assert actions.count("account.totp_enabled") == 1
    assert [d["reason"] for a, d in await audit_actions(pg_url, account["id"])
            if a == "account.auth_failed"] == ["totp_replayed", "totp_replayed"]


async def test_admin_resets_a_lost_authenticator(admin: httpx.AsyncClient,
                                                pg_url: str) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    lost = await enrol_totp(admin, t1)
    reset = await admin.delete(f"/v1/identity/accounts/{account['id']}/totp")
    assert reset.status_code == 200 and reset.json()["totp_enabled"] is False
    old = await login(admin, account["username"], totp_code=code_at(lost))
    assert old.status_code == 400 and old.json()["error"]["code"] == "totp_not_enabled"
    fresh = await enrol_totp(admin, t1)
    assert fresh != lost
    t2 = await login(admin, account["username"], totp_code=code_at(fresh))
    assert t2.json()["tier"] == "T2"
    assert (await login(admin, account["username"], totp_code=code_at(lost, 1))).status_code \
        == 401
    resets = [d for a, d in await audit_actions(pg_url, account["id"])
              if a == "account.totp_reset"]
    assert resets == [{"was_enabled": True}]


def test_a_short_totp_key_is_refused() -> None:
    with pytest.raises(ValueError, match="LUKHAS_TOTP_KEY must be a random secret of 32"):
        Settings(totp_key="changeme")
    assert Settings(totp_key="").totp_key is None  # blank, as copied from .env.example


async def test_one_code_presented_twice_at_once_logs_in_once(
    admin: httpx.AsyncClient, pg_url: str,
) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    secret = await enrol_totp(admin, t1)
    code = code_at(secret)
    both = await asyncio.gather(*(login(admin, account["username"], totp_code=code)
                                  for _ in range(2)))
    assert sorted(r.status_code for r in both) == [200, 401]


async def test_wrong_codes_count_toward_the_lockout(admin: httpx.AsyncClient,
                                                    pg_url: str) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    secret = await enrol_totp(admin, t1)
    right = code_at(secret)
    wrong = next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in
                 {code_at(secret, k) for k in (-1, 0, 1)})
    for _ in range(5):  # LUKHAS_ACCOUNT_LOCKOUT_FAILURES, by default
        assert (await login(admin, account["username"], totp_code=wrong)).status_code == 401
    locked = await login(admin, account["username"], totp_code=right)
    assert locked.status_code == 429
    reasons = [d.get("reason") for a, d in await audit_actions(pg_url, account["id"])
               if a in ("account.auth_failed", "account.locked")]
    assert reasons == ["totp"] * 5 + [None]


async def test_totp_needs_an_account_holder(admin: httpx.AsyncClient) -> None:
    resp = await admin.post("/v1/identity/totp")  # an API key is no account
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "account_required"
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    nothing = await admin.post("/v1/identity/totp/confirm", headers=bearer(t1),
                               json={"code": "123456"})
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "totp_not_pending"
    malformed = await login(admin, account["username"], totp_code="12ab")
    assert malformed.status_code == 400 and malformed.json()["error"]["param"] == "totp_code"


async def test_t3_only_by_an_admins_grant(admin: httpx.AsyncClient, pg_url: str) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    secret = await enrol_totp(admin, t1)
    granted = await admin.post(f"/v1/identity/accounts/{account['id']}/tier",
                               json={"tier": "T3"})
    assert granted.status_code == 200 and granted.json()["max_tier"] == "T3"
    assert (await login(admin, account["username"])).json()["tier"] == "T1"
    t3 = await login(admin, account["username"], totp_code=code_at(secret))
    assert t3.json()["tier"] == "T3" and "admin" in t3.json()["scopes"]
    bad_tier = await admin.post(f"/v1/identity/accounts/{account['id']}/tier",
                                json={"tier": "T9"})
    assert bad_tier.status_code == 400 and bad_tier.json()["error"]["param"] == "tier"
    capped = await admin.post(f"/v1/identity/accounts/{account['id']}/tier",
                              json={"tier": "T1"})
    assert capped.json()["max_tier"] == "T1"
    t1_only = await login(admin, account["username"], totp_code=code_at(secret, 1))
    assert t1_only.json()["tier"] == "T1"
    grants = [d for a, d in await audit_actions(pg_url, account["id"])
              if a == "account.tier_granted"]
    assert grants == [{"from": "T2", "to": "T3"}, {"from": "T3", "to": "T1"}]


async def test_lockout_after_consecutive_failures(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, **FAST_HASHING,
                           auth_throttle=False, account_lockout_failures=3,
                           account_lockout_seconds=1.5) as admin:
        account = await create_account(admin)
        name = account["username"]
        assert (await login(admin, name, "wrong password 1")).status_code == 401
        assert (await login(admin, name)).status_code == 200  # a success resets the count
        for i in range(3):
            assert (await login(admin, name, f"wrong password {i}")).status_code == 401
        locked = await login(admin, name)  # even the right password, while locked
        assert locked.status_code == 429
        assert locked.json()["error"]["type"] == "rate_limit_error"
        assert locked.json()["error"]["code"] == "too_many_failed_attempts"
        assert 0 < float(locked.headers["retry-after"]) <= 1.5
        view = (await admin.get(f"/v1/identity/accounts/{account['id']}")).json()
        assert view["locked_until"] is not None and view["failed_attempts"] == 3

        unlocked = await admin.post(f"/v1/identity/accounts/{account['id']}/unlock")
        assert unlocked.json()["locked_until"] is None
        assert (await login(admin, name)).status_code == 200

        for i in range(3):
            await login(admin, name, f"wrong password {i}")
        assert (await login(admin, name)).status_code == 429
        await asyncio.sleep(1.6)
        assert (await login(admin, name)).status_code == 200  # the lockout ran out
    actions = await audit_actions(pg_url, account["id"])
    assert [a for a, _ in actions] == [
        "account.created", "account.auth_failed", "account.authenticated",
        "account.auth_failed", "account.auth_failed", "account.auth_failed", "account.locked",
        "account.unlocked", "account.authenticated",
        "account.auth_failed", "account.auth_failed", "account.auth_failed", "account.locked",
        "account.unlocked", "account.authenticated"]
    unlocks = [d for a, d in actions if a == "account.unlocked"]
    assert unlocks == [{"reason": "admin", "was_locked": True}, {"reason": "expired"}]


async def test_password_rehashed_when_parameters_change(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           **FAST_HASHING) as admin:
        account = await create_account(admin)
    stronger = {**FAST_HASHING, "password_time_cost": 2, "password_memory_kib": 2048}
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, **stronger) as admin:
        assert (await login(admin, account["username"])).status_code == 200
        rehashed = await column(pg_url, "SELECT password_hash FROM accounts WHERE id = $1",
                                account["id"])
        assert rehashed.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
        assert (await login(admin, account["username"])).status_code == 200
    details = [d for a, d in await audit_actions(pg_url, account["id"])
               if a == "account.authenticated"]
    assert [d["rehashed"] for d in details] == [True, False]


async def test_totp_secret_is_sealed_at_rest(admin: httpx.AsyncClient, pg_url: str,
                                             tmp_path: Path) -> None:
    account = await create_account(admin)
    t1 = (await login(admin, account["username"])).json()["token"]
    secret = await enrol_totp(admin, t1)
    sealed = await column(pg_url, "SELECT totp_secret FROM accounts WHERE id = $1",
                          account["id"])
    assert secret.encode() not in sealed and len(sealed) == 1 + 12 + len(secret) + 16
    key = TotpSeal.from_settings(None, tmp_path)  # the key the app kept in its data dir
    assert key.open(sealed, account["id"]) == secret
    assert (tmp_path / "totp_key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ValueError, match="does not open"):
        key.open(sealed, "acct_someone_else")
    with pytest.raises(ValueError, match="does not open"):
        TotpSeal("another key, another deployment").open(sealed, account["id"])


async def test_verify_and_tier_check(admin: httpx.AsyncClient) -> None:
    account = await create_account(admin)
    token = (await login(admin, account["username"])).json()
    verified = (await admin.post("/v1/identity/verify", json={"token": token["token"]})).json()
    assert verified == {
        "object": "identity.token_verification", "valid": True, "code": None, "message": None,
        "alias": account["alias"], "tier": "T1", "scopes": token["scopes"],
        "jti": token["jti"], "expires_at": token["expires_at"]}
    head, body, sig = token["token"].split(".")
    forged = (await admin.post("/v1/identity/verify",
                               json={"token": f"{head}.{body}.{sig[:-4]}AAAA"})).json()
    assert (forged["valid"], forged["code"], forged["alias"]) == (
        False, "token_bad_signature", None)
    missing = await admin.post("/v1/identity/verify", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "token"

    as_t1 = bearer(token["token"])
    chat = (await admin.get("/v1/identity/tier-check", params={"scope": "chat"},
                            headers=as_t1)).json()
    assert chat == {"object": "identity.tier_check", "scope": "chat", "allowed": False,
                    "tier": "T1", "tier_allows": False, "lowest_tier": "T2"}
    models = (await admin.get("/v1/identity/tier-check", params={"scope": "models.read"},
                              headers=as_t1)).json()
    assert (models["allowed"], models["lowest_tier"]) == (True, "T1")
    admin_scope = (await admin.get("/v1/identity/tier-check",
                                   params={"scope": "admin"})).json()  # the T3 API key
    assert (admin_scope["allowed"], admin_scope["tier"]) == (True, "T3")
    unknown = await admin.get("/v1/identity/tier-check", params={"scope": "root"},
                              headers=as_t1)
    assert unknown.status_code == 400 and unknown.json()["error"]["param"] == "scope"


@pytest.mark.parametrize(("path", "body", "param"), [
    ("/v1/identity/authenticate", {"password": PASSWORD}, "username"),
    ("/v1/identity/authenticate", {"username": "someone"}, "password"),
    ("/v1/identity/totp/confirm", {}, "code"),
    ("/v1/identity/accounts/acct_x/tier", {}, "tier"),
])
async def test_missing_fields_are_400_naming_them(admin: httpx.AsyncClient, path: str,
                                                  body: dict[str, Any], param: str) -> None:
    resp = await admin.post(path, json=body)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "missing_required_parameter"
    assert resp.json()["error"]["param"] == param


async def test_tier_check_needs_a_scope(admin: httpx.AsyncClient) -> None:
    resp = await admin.get("/v1/identity/tier-check")
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "scope"
