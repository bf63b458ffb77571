"""Hot reload: a valid edit applies within a poll or two, a bad one changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from app.routing.problems import RoutingConfigError
from app.routing.reload import RoutingMetrics, RoutingReloader
from tests.routing.files import TIERS, base, write


def _count(registry: CollectorRegistry, outcome: str) -> float:
    return registry.get_sample_value("lukhas_routing_reload_total", {"outcome": outcome}) or 0.0


def _reloader(path: Path, registry: CollectorRegistry) -> RoutingReloader:
    return RoutingReloader(path, RoutingMetrics(registry), interval_s=0.05, tiers=TIERS)


async def test_an_edit_is_applied_by_the_watcher(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    path = write(tmp_path / "routing.yml", base())
    async with _reloader(path, registry) as reloader:
        started = reloader.config
        edited = base()
        edited["deadline_seconds"] = 12
        edited["aliases"]["chat-new"] = "chat"
        write(path, edited)
        for _ in range(200):  # a liveness bound (10 s), not a timing assertion
            if reloader.config is not started:
                break
            await asyncio.sleep(0.05)
        assert reloader.config.deadline_seconds == 12
        assert reloader.config.group_of("chat-new") == "chat"
        assert started.deadline_seconds == 45, "a request holding the old config keeps it"
    assert _count(registry, "applied") == 1


async def test_an_invalid_edit_keeps_the_running_config(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    path = write(tmp_path / "routing.yml", base())
    reloader = _reloader(path, registry)
    running = reloader.load()
    broken = base()
    broken["groups"]["chat"]["deployments"][0]["upstream"] = "nope"
    write(path, broken)
    assert not await reloader.check()
    assert reloader.config is running
    assert _count(registry, "invalid") == 1
    assert not await reloader.check(), "the same bad content is reported once"
    assert _count(registry, "invalid") == 1
    path.write_text("groups: [\n")
    assert not await reloader.check()
    assert _count(registry, "invalid") == 2 and reloader.config is running
    fixed = base()
    fixed["deadline_seconds"] = 30
    write(path, fixed)
    assert await reloader.check()
    assert reloader.config.deadline_seconds == 30 and _count(registry, "applied") == 1


async def test_a_vanished_file_keeps_the_running_config(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    path = write(tmp_path / "routing.yml", base())
    reloader = _reloader(path, registry)
    running = reloader.load()
    path.unlink()
    assert not await reloader.check() and not await reloader.check()
    assert reloader.config is running and _count(registry, "missing") == 1
    write(path, base())
    assert not await reloader.check(), "the same content again: nothing to apply"
    assert reloader.config is running


async def test_an_unchanged_file_is_not_reapplied(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    path = write(tmp_path / "routing.yml", base())
    reloader = _reloader(path, registry)
    running = reloader.load()
    path.touch()
    assert not await reloader.check() and reloader.config is running
    assert _count(registry, "applied") == 0


async def test_a_bad_or_missing_file_at_start_is_refused(tmp_path: Path) -> None:
    broken = base()
    broken["aliases"]["big"] = "chat"
    path = write(tmp_path / "routing.yml", broken)
    with pytest.raises(RoutingConfigError, match=r"aliases\.big: shadows the group"):
        async with _reloader(path, CollectorRegistry()):
            pass
    with pytest.raises(RoutingConfigError, match="cannot read"):
        _reloader(tmp_path / "absent.yml", CollectorRegistry()).load()
    with pytest.raises(RuntimeError, match="not been loaded"):
        _ = _reloader(path, CollectorRegistry()).config
