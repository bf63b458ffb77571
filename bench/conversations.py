"""What a turn in a conversation costs as the conversation grows.

Drives the app in-process (lifespan running, embedded PostgreSQL, no network) with
`lukhas-matriz` and `store: false`: for conversations of 0 (no conversation), 10, 100 and
1,000 items, prints the median and p95 latency of a response made in the conversation (its
items read as history, its 3 items appended), of one page of 20 items (`after` a cursor
in the middle), and of the repository's history read and append of 3 items alone.

Usage: python bench/conversations.py [TURNS=50]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from app.db.embedded import EmbeddedPostgres
from app.db.repositories import conversations as repo
from app.ids import new_id
from app.main import create_app
from app.settings import Settings
from bench.timing import line, timed

KEY = "lk-bench-conversations-0123456789"
SIZES = (0, 10, 100, 1000)




async def filled(http: httpx.AsyncClient, size: int) -> str:
    conv = (await http.post("/v1/conversations", json={})).json()["id"]
    for start in range(0, size, 20):
        items = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"Note {i}."}
                 for i in range(start, min(size, start + 20))]
        assert (await http.post(f"/v1/conversations/{conv}/items",
                                json={"items": items})).status_code == 200
    return conv


async def main() -> None:
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp))
        url = pg.start()
        try:
            app = create_app(Settings(database_url=url, data_dir=Path(tmp), api_keys=KEY,
                                      log_level="warning"))
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                        transport=transport, base_url="http://bench",
                        headers={"Authorization": f"Bearer {KEY}"}) as http:
                    await run(http, app.state.lukhas.pool, turns)
        finally:
            pg.stop()


async def run(http: httpx.AsyncClient, pool: Any, turns: int) -> None:
    print(f"{turns} turns per size; lukhas-matriz, store: false")
    for size in SIZES:
        body: dict[str, Any] = {"model": "lukhas-matriz", "store": False,
                                "input": "What is 2+2?"}
        if size:
            body["conversation"] = await filled(http, size)

        async def respond(body: dict[str, Any] = body) -> None:
            assert (await http.post("/v1/responses", json=body)).status_code == 200

        await respond()  # warm
        label = f"response, {size} items" if size else "response, no conversation"
        print(line(label, await timed(turns, respond)))
        if not size:
            continue
        conv = body["conversation"]
        middle = (await http.get(f"/v1/conversations/{conv}/items",
                                 params={"limit": 100})).json()["data"][-1]["id"]

        async def page(conv: str = conv, middle: str = middle) -> None:
            assert (await http.get(f"/v1/conversations/{conv}/items",
                                   params={"after": middle})).status_code == 200

        print(line(f"  items page of 20, {size}+ items", await timed(turns, page)))

        async def read_owned(conv: str = conv) -> None:
            async with pool.acquire() as conn:
                owner = await conn.fetchval("SELECT owner FROM conversations WHERE id = $1",
                                            conv)
                assert await repo.items(conn, owner, conv)

        print(line(f"  history read (repository), {size}+ items",
                   await timed(turns, read_owned)))

        async def append(conv: str = conv) -> None:
            async with pool.acquire() as conn:
                owner = await conn.fetchval("SELECT owner FROM conversations WHERE id = $1",
                                            conv)
                assert await repo.append(conn, owner, conv, [
                    {"id": new_id("msg_"), "type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "x"}]} for _ in range(3)])

        print(line("  append of 3 items (repository, one commit)",
                   await timed(turns, append)))


if __name__ == "__main__":
    asyncio.run(main())
