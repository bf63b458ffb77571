"""A database that is down is a 503 with `x-should-retry: true`, never a 500 (an external
database here: the service does not own it); `/readyz` fails, `/healthz` does not, and
service returns by itself once the database is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app.db.embedded import EmbeddedPostgres
from app.db.migrate import migrate
from tests.conftest import KEY_A
from tests.utils.app import running_app


async def test_requests_get_503_while_the_database_is_down(tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "external")
    url = await asyncio.to_thread(pg.start, keep_alive=False)
    try:
        await migrate(url)
        async with running_app(url, tmp_path, key=KEY_A, api_keys=KEY_A) as client:
            created = await client.post("/v1/responses",
                                        json={"model": "lukhas-matriz", "input": "2+2?"})
            assert created.status_code == 200, created.text
            rid = created.json()["id"]

            await asyncio.to_thread(pg.stop)
            for call in (client.get(f"/v1/responses/{rid}"),
                         client.post("/v1/responses",
                                     json={"model": "lukhas-matriz", "input": "3+3?"}),
                         client.get("/v1/indexes")):
                resp = await call
                assert resp.status_code == 503, resp.text
                assert resp.headers["x-should-retry"] == "true"
                assert resp.json()["error"]["code"] == "database_unavailable"
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get("/healthz")).status_code == 200, "the process still serves"

            await asyncio.to_thread(pg.start, keep_alive=False)
            assert (await client.get("/readyz")).status_code == 200
            again = await client.get(f"/v1/responses/{rid}")
            assert again.status_code == 200 and again.json()["output"] == \
                created.json()["output"]
    finally:
        await asyncio.to_thread(pg.stop)
