"""How strictly each lane enforces the Guardian's policy, from `configs/runtime/lanes.yaml`.

The file is checked at start (an invalid one stops it): every lane present, each with a
known mode. `LUKHAS_LANE` picks the entry in force.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.settings import Lane

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "runtime" / "lanes.yaml"

_Strict = ConfigDict(extra="forbid", frozen=True)


class Mode(StrEnum):
    ADVISORY = "advisory"  # log and audit only
    ENFORCED = "enforced"  # block, redact, deny on a Guardian failure
    STRICT = "strict"  # enforced, and any detector failure or unknown category denies


class KillSwitchRule(BaseModel):
    model_config = _Strict

    approvals: int = Field(default=2, ge=2, le=10)
    window_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)


class DriftThresholds(BaseModel):
    model_config = _Strict

    warn: float = Field(default=0.20, ge=0, le=2)
    block: float = Field(default=0.35, ge=0, le=2)

    @model_validator(mode="after")
    def _ordered(self) -> DriftThresholds:
        if self.block < self.warn:
            raise ValueError("drift.block must not be below drift.warn")
        return self


class LanePolicy(BaseModel):
    model_config = _Strict

    mode: Mode
    scan_timeout_ms: float = Field(default=250.0, gt=0, le=60_000)
    scan_ms_per_kchar: float = Field(default=10.0, ge=0, le=10_000)
    max_scan_chars: int = Field(default=524_288, ge=1024, le=64 * 1024 * 1024)
    kill_switch: KillSwitchRule = KillSwitchRule()
    drift: DriftThresholds = DriftThresholds()
    # The share of clean texts (no fast rule found anything) that the semantic rules which
    # only log review after the fact; a text a fast rule flagged is always reviewed.
    review_sample: float = Field(default=1.0, ge=0, le=1)
    # The most of one core those reviews of clean texts may take, on average: a sampled
    # review starts only while the reviews' recent time is within it (flagged texts always).
    review_cpu_share: float = Field(default=1.0, gt=0, le=1)

    @property
    def enforced(self) -> bool:
        """Whether decisions take effect (else they are logged only)."""
        return self.mode is not Mode.ADVISORY

    @property
    def strict(self) -> bool:
        return self.mode is Mode.STRICT

    def scan_budget_s(self, chars: int) -> float:
        """The time a scan of `chars` characters may take before it counts as a failure."""
        return (self.scan_timeout_ms + self.scan_ms_per_kchar * chars / 1000) / 1000


class LanesFile(BaseModel):
    model_config = _Strict

    lanes: dict[Lane, LanePolicy]

    @model_validator(mode="after")
    def _every_lane(self) -> LanesFile:
        missing = [lane.value for lane in Lane if lane not in self.lanes]
        if missing:
            raise ValueError(f"no entry for lane(s) {', '.join(missing)}")
        return self


class LanesError(ValueError):
    """The lanes file is unreadable or invalid; the message names where."""


def load_lanes(path: Path | None = None) -> dict[Lane, LanePolicy]:
    """Every lane's policy, checked (from `path`, or the service's own file)."""
    path = path or DEFAULT_PATH
    try:
        raw = yaml.safe_load(path.read_text())
        return LanesFile.model_validate(raw).lanes
    except (OSError, yaml.YAMLError) as exc:
        raise LanesError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors())
        raise LanesError(f"{path}: {problems}") from exc


def lane_policy(lane: Lane, path: Path | None = None) -> LanePolicy:
    """The policy of `lane`."""
    return load_lanes(path)[lane]
