"""Hot reload under load loses no request: a real server, a client loop, the file rewritten.

While eight clients send `/v1/models`, `/v1/admin/routing/preview` and `/readyz` without a
pause, the routing file is replaced five times with valid edits and once with an invalid one
(each written beside the file and renamed over it, as docs/routing.md says to). Every request
gets a 200; each valid edit shows in the listing; the invalid one keeps the running routes and
is counted once as `invalid`.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import KEY_A
from tests.routing.callers import limits_file
from tests.routing.files import base
from tests.utils.server import ServerProcess, start_uvicorn

HEADERS = {"Authorization": f"Bearer {KEY_A}"}
CLIENTS = 8
ROUND = 300  # requests the clients send on each configuration before the next edit


def edit(revision: int) -> dict[str, Any]:
    """A valid file whose revision shows in the listing: `big`'s owner and a group `r<n>`."""
    data = base()
    data["groups"]["big"]["owned_by"] = f"rev-{revision}"
    data["groups"][f"r{revision}"] = {"context_window_tokens": 8192,
                                      "deployments": [{"upstream": "b", "model": "r"}]}
    return data


def replace(path: Path, data: dict[str, Any]) -> None:
    """Write beside the file, then rename over it: a reader sees the old file or the new."""
    partial = path.with_suffix(".partial")
    partial.write_text(yaml.safe_dump(data, sort_keys=False))
    os.replace(partial, path)


@pytest.fixture
def routed_server(pg_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    path = tmp_path / "routing.yml"
    replace(path, edit(0))
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_API_KEY_TIER": "T3", "LUKHAS_DATA_DIR": str(tmp_path),
           "LUKHAS_LOG_LEVEL": "warning", "LUKHAS_ROUTING_FILE": str(path),
           "LUKHAS_ROUTING_RELOAD_SECONDS": "0.05",
           "LUKHAS_RATE_LIMITS_FILE": str(limits_file(tmp_path))}
    server = start_uvicorn(env, tmp_path / "server.log")
    yield server, path
    server.stop()


async def until(check: Callable[[], Any]) -> None:
    for _ in range(400):  # a liveness bound (20 s), not a timing assertion
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the service never showed the edit")


async def test_hot_reload_under_load_loses_no_request(
        routed_server: tuple[ServerProcess, Path]) -> None:
    server, path = routed_server
    statuses: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []
    stop = asyncio.Event()

    async def load(worker: int, http: httpx.AsyncClient) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            preview = {"model": "chat-latest", "subject": f"key_{worker}_{n}"}
            note("models", await http.get("/v1/models"))
            note("preview", await http.post("/v1/admin/routing/preview", json=preview))
            note("readyz", await http.get("/readyz"))

    def note(name: str, resp: httpx.Response) -> None:
        statuses[name, resp.status_code] += 1
        if resp.status_code != 200:
            failures.append(f"{name} {resp.status_code} {resp.text[:200]}")

    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=30,
                                 limits=httpx.Limits(max_connections=CLIENTS)) as http:
        async def listed() -> dict[str, str]:
            data = (await http.get("/v1/models")).json()["data"]
            return {m["id"]: m["owned_by"] for m in data}

        async def reload_counts() -> dict[str, float]:
            text = (await http.get("/metrics")).text
            counts = {}
            for line in text.splitlines():
                if line.startswith("lukhas_routing_reload_total{"):
                    label, value = line.split("} ")
                    counts[label.split('"')[1]] = float(value)
            return counts

        async def busy() -> None:
            # Let the clients run a while on each configuration, so edits land mid-traffic.
            target = statuses.total() + ROUND
            await until(lambda: _reached(statuses, target))

        workers = [asyncio.create_task(load(i, http)) for i in range(CLIENTS)]
        try:
            await busy()
            for revision in (1, 2, 3):
                replace(path, edit(revision))
                await until(lambda r=revision: _shows(listed, r))
                await busy()
            broken = edit(4)
            broken["fallbacks"]["chat"] = ["chat"]  # refused: a group may not fall back to itself
            replace(path, broken)
            await until(lambda: _counted(reload_counts, "invalid"))
            await busy()
            assert (await listed())["big"] == "rev-3"  # the running routes stayed
            assert "r4" not in await listed()
            for revision in (5, 6):
                replace(path, edit(revision))
                await until(lambda r=revision: _shows(listed, r))
                await busy()
        finally:
            stop.set()
            await asyncio.gather(*workers)
        counts = await reload_counts()
    assert failures == []
    assert {status for _, status in statuses} == {200}
    assert min(statuses[name, 200] for name in ("models", "preview", "readyz")) > 2 * ROUND // 3
    assert (counts.get("applied"), counts.get("invalid"), counts.get("missing", 0.0)) == (
        5.0, 1.0, 0.0)


async def _reached(statuses: Counter[tuple[str, int]], target: int) -> bool:
    return statuses.total() >= target


async def _shows(listed: Callable[[], Any], revision: int) -> bool:
    models = await listed()
    return bool(models.get("big") == f"rev-{revision}" and f"r{revision}" in models)


async def _counted(counts: Callable[[], Any], outcome: str) -> bool:
    return bool((await counts()).get(outcome, 0.0) >= 1.0)
