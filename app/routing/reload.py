"""Hot reload of the routing file (the loop itself: app.config_files.FileReloader).

A request takes `reloader.config` once when it starts and keeps that object to its end.
`lukhas_routing_reload_total{outcome}` counts applied, invalid and missing outcomes.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from app.config_files import FileReloader, Snapshot
from app.routing.config import RoutingConfig
from app.routing.load import parse_routing_bytes
from app.routing.problems import Problem, RoutingConfigError


class RoutingMetrics:
    """The routing metrics, registered on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reload_total = Counter(
            "lukhas_routing_reload_total",
            "Routing file reloads by outcome (applied, invalid, missing).",
            ["outcome"], registry=registry,
        )


class RoutingReloader(FileReloader[RoutingConfig]):
    """Holds the current routing config and keeps it in step with the file."""

    what = "routing file"
    invalid = (RoutingConfigError,)

    def __init__(self, path: Path, metrics: RoutingMetrics, *, interval_s: float = 1.0,
                 tiers: Collection[str] | None = None) -> None:
        super().__init__(metrics.reload_total, interval_s=interval_s)
        self.path = path
        self._tiers = tiers

    @property
    def config(self) -> RoutingConfig:
        """The configuration in force (take it once per request)."""
        return self.value

    def read(self) -> Snapshot:
        return ((self.path.name, self.path.read_bytes()),)

    def parse(self, snapshot: Snapshot) -> RoutingConfig:
        return parse_routing_bytes(snapshot[0][1], self._tiers)

    def describe(self, value: RoutingConfig) -> str:
        return (f"{self.path} applied: {len(value.groups)} groups, "
                f"{len(value.upstreams)} upstreams")

    def load(self) -> RoutingConfig:
        """Read the file at start-up: an unreadable or invalid file is a RoutingConfigError."""
        try:
            return super().load()
        except OSError as exc:
            raise RoutingConfigError([Problem("", f"cannot read {self.path}: "
                                                  f"{exc.strerror or exc}")]) from None
