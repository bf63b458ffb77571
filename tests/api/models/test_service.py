"""ModelsService: one listing per tier and configuration object, rebuilt when a reload swaps it."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from app.api.models.service import ModelsService
from app.core.cards import ModelCard
from app.routing.errors import ModelNotFound
from app.routing.reload import RoutingMetrics, RoutingReloader
from tests.routing.files import TIERS, base, write

CARD = ModelCard("lukhas-matriz", 1767225600, "lukhas", 8192)


async def test_a_listing_is_built_once_per_configuration(tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", base())
    reloader = RoutingReloader(path, RoutingMetrics(CollectorRegistry()), tiers=TIERS)
    reloader.load()
    service = ModelsService([CARD], reloader)
    first = service.list_models("T2")["data"]
    assert service.list_models("T2")["data"] is first  # the same object: nothing rebuilt
    assert [m["id"] for m in first] == ["lukhas-matriz", "chat", "big", "small", "chat-latest"]
    assert [m["id"] for m in service.list_models("T1")["data"]] == [
        "lukhas-matriz", "big", "small"]
    edited = base()
    edited["groups"]["chat"]["tiers"] = ["T3"]
    write(path, edited)
    assert await reloader.check()
    again = service.list_models("T2")["data"]
    assert again is not first
    assert [m["id"] for m in again] == ["lukhas-matriz", "big", "small"]
    with pytest.raises(ModelNotFound):
        service.retrieve("chat-latest", "T2")
    assert service.retrieve("chat-latest", "T3")["id"] == "chat-latest"


def test_without_routing_every_tier_sees_the_builtin_models() -> None:
    service = ModelsService([CARD], None)
    assert service.list_models("T1") == service.list_models("T3") == {
        "object": "list", "data": [{"id": "lukhas-matriz", "object": "model",
                                    "created": 1767225600, "owned_by": "lukhas",
                                    "context_window": 8192}]}
    with pytest.raises(ModelNotFound):
        service.retrieve("chat", "T3")
