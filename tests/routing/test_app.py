"""The service with a routing file: loaded at start, reloaded on edit, counted in /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.routing.problems import RoutingConfigError
from tests.conftest import KEY_A
from tests.routing.files import base, write
from tests.utils.app import running_app


async def test_the_service_follows_its_routing_file(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", base())
    async with running_app(pg_url, tmp_path, key=KEY_A, routing_file=path,
                           routing_reload_seconds=0.05) as client:
        routing = client.app.state.lukhas.routing  # type: ignore[attr-defined]
        assert routing.config.deadline_seconds == 45
        edited = base()
        edited["deadline_seconds"] = 20
        write(path, edited)
        for _ in range(200):  # a liveness bound (10 s), not a timing assertion
            if routing.config.deadline_seconds == 20:
                break
            await asyncio.sleep(0.05)
        assert routing.config.deadline_seconds == 20
        metrics = (await client.get("/metrics")).text
        assert 'lukhas_routing_reload_total{outcome="applied"} 1.0' in metrics


async def test_without_a_routing_file_nothing_changes(pg_url: str, tmp_path: Path) -> None:
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           routing_file=None) as client:
        assert client.app.state.lukhas.routing is None  # type: ignore[attr-defined]
        models = (await client.get("/v1/models")).json()
        assert "lukhas-matriz" in {m["id"] for m in models["data"]}


async def test_an_invalid_routing_file_stops_the_start(pg_url: str, tmp_path: Path) -> None:
    broken = base()
    broken["fallbacks"]["chat"] = ["chat"]
    path = write(tmp_path / "routing.yml", broken)
    with pytest.raises(RoutingConfigError, match="cannot fall back to itself"):
        async with running_app(pg_url, tmp_path, key=KEY_A, routing_file=path):
            pass
