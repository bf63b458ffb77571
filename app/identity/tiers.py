"""Tiers → scopes, from `configs/identity/tiers.yaml`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "identity" / "tiers.yaml"


@dataclass(frozen=True, slots=True)
class Tiers:
    scopes_by_tier: dict[str, frozenset[str]]

    def scopes(self, tier: str) -> frozenset[str]:
        """The scopes `tier` grants; a KeyError for an unknown tier."""
        return self.scopes_by_tier[tier]

    def grant(self, tier: str, requested: Iterable[str] | None) -> frozenset[str]:
        """The scopes a token of `tier` holds: all of the tier's, or the requested subset."""
        allowed = self.scopes(tier)
        if requested is None:
            return allowed
        wanted = frozenset(requested)
        extra = wanted - allowed
        if extra:
            raise ValueError(f"tier {tier} does not grant {sorted(extra)}")
        return wanted


def load_tiers(path: Path = DEFAULT_PATH) -> Tiers:
    """Read the tiers file."""
    raw = yaml.safe_load(path.read_text()) or {}
    return Tiers({str(t): frozenset(map(str, s or [])) for t, s in raw["tiers"].items()})
