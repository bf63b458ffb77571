"""With Redis, revocations and single use hold across workers; without it, they fail closed."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx
import pytest

from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.server import start_lukhas_serve

pytestmark = pytest.mark.slow
LID_KEY = '{"k1": "k1-secret-0123456789abcdef0123456789abcdef"}'


def test_single_use_token_is_admitted_once_across_two_workers(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A, "LUKHAS_LID_KEYS": LID_KEY,
           "LUKHAS_REDIS_URL": redis_url, "LUKHAS_DATA_DIR": str(tmp_path),
           "LUKHAS_LOG_LEVEL": "warning",
           # 39 replays from one address would otherwise be throttled (429) after the limit.
           "LUKHAS_AUTH_THROTTLE": "false"}
    server = start_lukhas_serve(env, tmp_path / "server.log", "--workers", "2")
    try:
        admin = {"Authorization": f"Bearer {KEY_A}"}
        url = server.base_url
        assert httpx.get(f"{url}/readyz").json()["checks"]["redis"] == "ok"
        once = httpx.post(f"{url}/v1/identity/tokens", headers=admin, json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2", "once": True}).json()["token"]

        def present(_: int) -> tuple[int, str | None]:
            resp = httpx.get(f"{url}/v1/identity/me", timeout=30,
                             headers={"Authorization": f"Bearer {once}"})
            code = None if resp.is_success else resp.json()["error"]["code"]
            return resp.status_code, code

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(present, range(40)))
        assert results.count((200, None)) == 1
        assert results.count((401, "token_replayed")) == 39

        # Revoked on whichever worker; refused on every worker.
        issued = httpx.post(f"{url}/v1/identity/tokens", headers=admin, json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()
        httpx.post(f"{url}/v1/identity/revoke", headers=admin, json={"jti": issued["jti"]})
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: httpx.get(
                f"{url}/v1/identity/me", headers={"Authorization": f"Bearer {issued['token']}"}
            ).json()["error"]["code"], range(16)))
        assert set(codes) == {"token_revoked"}
    finally:
        server.stop()


async def test_redis_down_the_database_answers_and_readyz_says_so(
        pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           redis_url="redis://127.0.0.1:1/0") as client:
        admin = {"Authorization": f"Bearer {KEY_A}"}
        issued = (await client.post("/v1/identity/tokens", headers=admin, json={
            "realm": "R", "zone": "Z", "tier": "T2", "once": True})).json()
        as_token = {"Authorization": f"Bearer {issued['token']}"}
        # Redis only caches the marks: PostgreSQL holds them, and answers without it.
        assert (await client.get("/v1/identity/me", headers=as_token)).status_code == 200
        replay = await client.get("/v1/identity/me", headers=as_token)
        assert replay.json()["error"]["code"] == "token_replayed"
        other = (await client.post("/v1/identity/tokens", headers=admin, json={
            "realm": "R", "zone": "Z", "tier": "T2"})).json()
        revoked = await client.post("/v1/identity/revoke", headers=admin,
                                    json={"token": other["token"]})
        # Recorded in the database, but the cache could not be told: retry to finish.
        assert revoked.status_code == 503 and revoked.headers["x-should-retry"] == "true"
        resp = await client.get("/v1/identity/me",
                                headers={"Authorization": f"Bearer {other['token']}"})
        assert resp.json()["error"]["code"] == "token_revoked"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"].startswith("unreachable")
        # API keys need no store: the service still answers them.
        assert (await client.get("/v1/models", headers=admin)).status_code == 200
