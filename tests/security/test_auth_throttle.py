"""Failed authentication is throttled per client address and per presented key id: past
the limit, 429 `rate_limit_error` with retry-after; successes are never held back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from app.identity.redis_throttle import RedisFailures
from app.identity.throttle import (
    AuthThrottle,
    MemoryFailures,
    ThrottleLimits,
    address_key,
    credential_key,
)
from tests.conftest import KEY_A
from tests.utils.accounts import FAST_HASHING, PASSWORD, create_account, login, username
from tests.utils.app import running_app

pytestmark = pytest.mark.security


@asynccontextmanager
async def caller(app: FastAPI, address: str, key: str | None = None
                 ) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` seen as coming from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://lukhas.test",
                                 headers=headers) as client:
        yield client


def throttled(resp: httpx.Response) -> bool:
    if resp.status_code != 429:
        return False
    assert resp.json()["error"]["type"] == "rate_limit_error"
    assert resp.json()["error"]["code"] == "too_many_failed_attempts"
    assert float(resp.headers["retry-after"]) > 0 and int(resp.headers["retry-after-ms"]) > 0
    assert resp.headers["x-should-retry"] == "false"
    return True


async def metric(client: httpx.AsyncClient, surface: str, outcome: str) -> float:
    text = (await client.get("/metrics")).text
    line = f'lukhas_auth_failures_total{{outcome="{outcome}",surface="{surface}"}} '
    found = [ln for ln in text.splitlines() if ln.startswith(line)]
    return float(found[0].split()[-1]) if found else 0.0


def limits(address: int, key: int) -> dict[str, Any]:
    return {"auth_throttle_address_failures": address, "auth_throttle_key_failures": key}


async def test_bad_keys_from_one_address_get_429_but_good_ones_pass(
    pg_url: str, tmp_path: Path,
) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           **limits(3, 100)) as admin:
        app = admin.app  # type: ignore[attr-defined]
        async with caller(app, "203.0.113.7") as attacker:
            answers = [await attacker.get("/v1/models",
                                          headers={"Authorization": f"Bearer lk-guess-{i:020d}"})
                       for i in range(5)]
            assert [r.status_code for r in answers[:3]] == [401, 401, 401]
            assert answers[0].json()["error"]["code"] == "invalid_api_key"
            assert all(throttled(r) for r in answers[3:])
            # A valid credential from the same address is not held back.
            ok = await attacker.get("/v1/models", headers={"Authorization": f"Bearer {KEY_A}"})
            assert ok.status_code == 200
        async with caller(app, "198.51.100.9", "lk-another-guess-000000") as elsewhere:
            assert (await elsewhere.get("/v1/models")).status_code == 401
        assert await metric(admin, "credential", "rejected") == 6
        assert await metric(admin, "credential", "throttled") == 2


async def test_one_key_id_is_throttled_across_addresses(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           **limits(100, 2)) as admin:
        app = admin.app  # type: ignore[attr-defined]
        statuses = []
        for i in range(3):  # one key prefix (the first 12 characters), three addresses
            async with caller(app, f"192.0.2.{i + 1}", f"lk-test-alicXXXX{i}") as c:
                statuses.append((await c.get("/v1/models")).status_code)
        assert statuses == [401, 401, 429]
        # A ΛiD token's key id is its alias: tampered copies of one token count together.
        token = (await admin.post("/v1/identity/tokens", json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
        head, body, sig = token.split(".")
        codes = []
        for i, tail in enumerate(("AAAA", "BBBB", "CCCC")):
            async with caller(app, f"192.0.2.{10 + i}", f"{head}.{body}.{sig[:-4]}{tail}") as c:
                resp = await c.get("/v1/models")
                codes.append(resp.json()["error"]["code"])
        assert codes[0] == "token_bad_signature" and codes[1] != "too_many_failed_attempts"
        assert codes[2] == "too_many_failed_attempts"
        async with caller(app, "192.0.2.20", token) as holder:  # the real token still works
            assert (await holder.get("/v1/models")).status_code == 200


async def test_logins_throttled_alike_for_known_and_unknown_usernames(
    pg_url: str, redis_url: str, tmp_path: Path,
) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, redis_url=redis_url,
                           **FAST_HASHING, **limits(100, 2),
                           account_lockout_failures=100) as admin:
        known = (await create_account(admin))["username"]
        unknown = username("ghost")
        answers: dict[str, list[httpx.Response]] = {}
        for name in (known, unknown):
            answers[name] = [await login(admin, name, "wrong password here") for _ in range(2)]
            answers[name].append(await login(admin, name))  # right password (for `known`)
        for name in (known, unknown):
            assert [r.status_code for r in answers[name]] == [401, 401, 429]
            assert throttled(answers[name][2])
        # The same answer, but for the seconds to wait (each window runs from its own start).
        errors = [answers[n][2].json()["error"] for n in (known, unknown)]
        for error in errors:
            error["message"] = re.sub(r"\d+s\.$", "Ns.", error["message"])
        assert errors[0] == errors[1] == {
            "message": "Too many failed authentication attempts. Try again in Ns.",
            "type": "rate_limit_error", "param": None, "code": "too_many_failed_attempts"}
        assert await metric(admin, "password", "throttled") == 2

        # A success clears the username's count (not the address's).
        other = (await create_account(admin))["username"]
        assert (await login(admin, other, "wrong password here")).status_code == 401
        assert (await login(admin, other)).status_code == 200
        assert (await login(admin, other, "wrong password here")).status_code == 401
        assert (await login(admin, other, "wrong password here")).status_code == 401
        assert (await login(admin, other)).status_code == 429


async def test_failures_are_shared_by_workers_through_redis(
    pg_url: str, redis_url: str, tmp_path: Path,
) -> None:
    settings = {"api_keys": KEY_A, "redis_url": redis_url, **limits(3, 100)}
    async with running_app(pg_url, tmp_path / "a", key=KEY_A, **settings) as one, \
            running_app(pg_url, tmp_path / "b", key=KEY_A, **settings) as two:
        bad = {"Authorization": "Bearer lk-wrong-0000000000000"}
        assert (await one.get("/v1/models", headers=bad)).status_code == 401
        assert (await two.get("/v1/models", headers=bad)).status_code == 401
        assert (await one.get("/v1/models", headers=bad)).status_code == 401
        assert throttled(await two.get("/v1/models", headers=bad))
        assert throttled(await one.get("/v1/models", headers=bad))


async def test_throttle_can_be_turned_off(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, auth_throttle=False,
                           **limits(1, 1)) as admin:
        bad = {"Authorization": "Bearer lk-wrong-0000000000000"}
        statuses = {(await admin.get("/v1/models", headers=bad)).status_code
                    for _ in range(5)}
        assert statuses == {401}
        assert await metric(admin, "credential", "rejected") == 5


async def test_the_throttle_fails_open_when_its_store_is_down() -> None:
    registry = CollectorRegistry()
    counter = Counter("failures", "", ["surface", "outcome"], registry=registry)
    down = AuthThrottle(RedisFailures("redis://127.0.0.1:1/0"), ThrottleLimits(60, 1, 1),
                        counter)
    for _ in range(3):
        await down.check("password", "addr:192.0.2.1", "user:x")
        assert await down.failed("password", "addr:192.0.2.1", "user:x") is None
    assert registry.get_sample_value(
        "failures_total", {"surface": "password", "outcome": "store_unavailable"}) == 6


async def test_counts_expire_with_their_window() -> None:
    now = [1000.0]
    counter = Counter("f", "", ["surface", "outcome"], registry=CollectorRegistry())
    throttle = AuthThrottle(MemoryFailures(clock=lambda: now[0]), ThrottleLimits(10, 100, 1),
                            counter)
    assert await throttle.failed("password", "addr:a", "user:b") is None
    refusal = await throttle.failed("password", "addr:a", "user:b")
    assert refusal is not None and refusal.headers["retry-after"] == "10"
    now[0] += 10.5
    await throttle.check("password", "addr:a", "user:b")  # the window is over


async def test_the_in_process_counter_is_bounded() -> None:
    failures = MemoryFailures(max_keys=3)
    for key in ("a", "b", "c", "d"):
        await failures.add([key], 60)
    assert [c.failures for c in await failures.peek(["a", "b", "c", "d"])] == [0, 1, 1, 1]


def test_key_ids() -> None:
    assert address_key(("192.0.2.1", 5)) == "addr:192.0.2.1"
    assert address_key(("2001:db8:1:2:3:4:5:6", 5)) == address_key(("2001:db8:1:2::9", 5)) \
        == "addr:2001:db8:1:2::/64"
    assert address_key(("::ffff:192.0.2.1", 5)) == "addr:192.0.2.1"
    assert address_key(None) == "addr:unknown"
    assert credential_key("lk-test-alice-0123456789") == "key:lk-test-alic"
    assert credential_key("a.b.c") == "lid:malformed"
    token = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJsaWQjWCJ9.sig"
    assert credential_key(token) == "lid:lid#X"  # {"sub": "lid#X"}, whatever the signature
    assert credential_key("eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0.e30.sig") == "kid:k1"
    assert credential_key(PASSWORD) == "key:correct hors"
