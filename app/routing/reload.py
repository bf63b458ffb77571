"""Hot reload of the routing file: poll, validate, swap one immutable config.

The file is read and hashed about once a second (a few kilobytes; this catches every edit,
including Kubernetes' ConfigMap symlink swaps, which inotify watchers can miss). A file that
parses and validates replaces the configuration in one assignment; a request takes
`reloader.config` once when it starts and keeps that object to its end. A bad edit changes
nothing: the problems are logged and `lukhas_routing_reload_total{outcome="invalid"}` counts
it (once per distinct content). A file that disappears keeps the running configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Collection
from pathlib import Path
from types import TracebackType

from prometheus_client import CollectorRegistry, Counter

from app.routing.config import RoutingConfig
from app.routing.load import parse_routing_bytes
from app.routing.problems import Problem, RoutingConfigError

log = logging.getLogger("lukhas.routing")


class RoutingMetrics:
    """The routing metrics, registered on the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reload_total = Counter(
            "lukhas_routing_reload_total",
            "Routing file reloads by outcome (applied, invalid, missing).",
            ["outcome"], registry=registry,
        )


class RoutingReloader:
    """Holds the current routing config and keeps it in step with the file."""

    def __init__(self, path: Path, metrics: RoutingMetrics, *, interval_s: float = 1.0,
                 tiers: Collection[str] | None = None) -> None:
        self.path = path
        self._metrics = metrics
        self._interval_s = interval_s
        self._tiers = tiers
        self._config: RoutingConfig | None = None
        self._digest = b""  # of the content last looked at, valid or not
        self._missing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def config(self) -> RoutingConfig:
        """The configuration in force (take it once per request)."""
        if self._config is None:
            raise RuntimeError("the routing file has not been loaded")
        return self._config

    def load(self) -> RoutingConfig:
        """Read the file at start-up: an unreadable or invalid file is a RoutingConfigError."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise RoutingConfigError([Problem("", f"cannot read {self.path}: "
                                                  f"{exc.strerror or exc}")]) from None
        self._config = parse_routing_bytes(data, self._tiers)
        self._digest = hashlib.sha256(data).digest()
        return self._config

    async def check(self) -> bool:
        """Look at the file once; True when a new configuration was swapped in."""
        try:
            data = await asyncio.to_thread(self.path.read_bytes)
        except OSError:
            if not self._missing:
                self._missing = True
                self._metrics.reload_total.labels("missing").inc()
                log.error("routing file %s is gone; keeping the running routes", self.path)
            return False
        self._missing = False
        digest = hashlib.sha256(data).digest()
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            config = await asyncio.to_thread(parse_routing_bytes, data, self._tiers)
        except RoutingConfigError as exc:
            self._metrics.reload_total.labels("invalid").inc()
            log.error("routing file %s not applied, the running routes stay: %s", self.path,
                      "; ".join(map(str, exc.problems)))
            return False
        self._config = config
        self._metrics.reload_total.labels("applied").inc()
        log.info("routing file %s applied: %d groups, %d upstreams", self.path,
                 len(config.groups), len(config.upstreams))
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:  # a watcher that dies silently would freeze the routes
                log.exception("routing file check failed")

    async def __aenter__(self) -> RoutingReloader:
        self.load()
        self._task = asyncio.create_task(self._watch(), name="routing-reload")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
