"""What `/v1/models` lists: the built-in models, then the routing file's groups and aliases.

A caller sees only the groups its tier may use (`groups.ID.tiers`); asking for another one by
id is the same 404 `model_not_found` as asking for one that does not exist, as `pick()`
answers (a 403 would tell a low tier which models exist). The listing follows hot reloads:
each request reads the configuration in force, and the per-tier listing is built once per
configuration object (a reload makes a new object) and kept until the next one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.cards import ModelCard
from app.routing.config import Group, RoutingConfig
from app.routing.errors import ModelNotFound
from app.routing.reload import RoutingReloader


def _entry(model_id: str, created: int, owned_by: str, context_window: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by,
            "context_window": context_window}


def _card_entry(card: ModelCard) -> dict[str, Any]:
    return _entry(card.id, card.created, card.owned_by, card.context_window)


@dataclass(frozen=True, slots=True)
class Listing:
    """One tier's view: the entries in order, and the same entries by id."""

    data: list[dict[str, Any]]
    by_id: dict[str, dict[str, Any]]


def _listing(entries: list[dict[str, Any]]) -> Listing:
    return Listing(entries, {entry["id"]: entry for entry in entries})


class ModelsService:
    """The models a caller of a given tier may name."""

    def __init__(self, builtin: Sequence[ModelCard], routing: RoutingReloader | None) -> None:
        self._builtin = [_card_entry(card) for card in builtin]
        self._routing = routing
        self._plain = _listing(self._builtin)
        # The configuration the listings below were built from: held (not only its id), so
        # `is` compares against a live object and never against a reused address.
        self._config: RoutingConfig | None = None
        self._by_tier: dict[str, Listing] = {}
        # When this process first served each routed id: its `created` (the file has no date).
        self._first_seen: dict[str, int] = {}

    def list_models(self, tier: str) -> dict[str, Any]:
        """The list object of every model `tier` may use."""
        return {"object": "list", "data": self._for(tier).data}

    def retrieve(self, model_id: str, tier: str) -> dict[str, Any]:
        """One model `tier` may use, or 404 `model_not_found` (missing and hidden alike)."""
        entry = self._for(tier).by_id.get(model_id)
        if entry is None:
            raise ModelNotFound(model_id)
        return entry

    def _for(self, tier: str) -> Listing:
        if self._routing is None:
            return self._plain
        config = self._routing.config  # once: a reload during this call is seen next time
        if config is not self._config:
            self._config, self._by_tier = config, {}
            now = int(time.time())
            for model_id in config.model_ids():
                self._first_seen.setdefault(model_id, now)
        listing = self._by_tier.get(tier)
        if listing is None:
            listing = self._by_tier[tier] = _listing(self._builtin + self._routed(config, tier))
        return listing

    def _routed(self, config: RoutingConfig, tier: str) -> list[dict[str, Any]]:
        entries = []
        for model_id in config.model_ids():
            name = config.group_of(model_id)
            assert name is not None  # every alias names a group (checked on load)
            group = config.groups[name]
            if _allows(group, tier):
                entries.append(_entry(model_id, self._first_seen[model_id], group.owned_by,
                                      group.context_window_tokens))
        return entries


def _allows(group: Group, tier: str) -> bool:
    # As pick() decides: no `tiers` means every tier.
    return group.tiers is None or tier in group.tiers
