"""The routing file (`configs/routing.yml`) as frozen, strict pydantic models.

Unknown keys are errors; every problem names its key path (`groups.gpt-4o.deployments[1]
.upstream`). The schema is checked here, the references between sections in `checks.py`.
Docs: `docs/routing.md`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class FailureKind(StrEnum):
    """The failures a retry or a cooldown can count (the rest go straight to the caller)."""

    RATE_LIMITED = "429"
    SERVER_ERROR = "5xx"
    CONNECT = "connect"
    TIMEOUT = "timeout"


ALL_FAILURES = tuple(FailureKind)


def failure_kind(status: int) -> FailureKind | None:
    """The kind of an upstream HTTP status that failed, or None when it is not retryable."""
    if status == 429:
        return FailureKind.RATE_LIMITED
    if 500 <= status <= 599:
        return FailureKind.SERVER_ERROR
    return None


def _failure_kinds(value: object) -> object:
    # YAML reads `429` as an int; the kind is the string "429".
    if isinstance(value, list | tuple):
        return tuple(FailureKind(str(v)) if str(v) in set(ALL_FAILURES) else v for v in value)
    return value


class Timeouts(_Strict):
    connect_seconds: float = Field(default=5.0, gt=0, le=300)
    read_seconds: float = Field(default=60.0, gt=0, le=3600)


class Pool(_Strict):
    max_connections: int = Field(default=100, ge=1, le=10_000)
    max_keepalive: int = Field(default=20, ge=0, le=10_000)
    keepalive_seconds: float = Field(default=30.0, gt=0, le=3600)


class Upstream(_Strict):
    """An OpenAI-compatible server: vLLM, Ollama, llama.cpp's server, OpenAI."""

    base_url: str = Field(min_length=1, max_length=2048)
    # The NAME of the environment variable that holds the key, never the key itself.
    api_key_env: str | None = Field(default=None, pattern=ENV_NAME)
    api: Literal["chat_completions", "responses"] = "chat_completions"
    timeouts: Timeouts = Timeouts()
    pool: Pool = Pool()
    headers: dict[str, str] = Field(default_factory=dict)


class Deployment(_Strict):
    """One upstream serving one of its models, with a share of the group's traffic."""

    upstream: str = Field(min_length=1)
    model: str = Field(min_length=1, max_length=256)
    weight: float = Field(default=1.0, gt=0, le=1_000_000)

    @cached_property
    def id(self) -> str:
        """`upstream/model`: the key cooldowns are kept under."""
        return f"{self.upstream}/{self.model}"


class Memory(_Strict):
    recall: bool = True
    max_tokens: int = Field(default=2000, ge=0)


class Group(_Strict):
    """A public model id: what callers name in `model`, and `/v1/models` lists."""

    deployments: tuple[Deployment, ...] = Field(min_length=1)
    context_window_tokens: int = Field(ge=256, le=100_000_000)
    max_output_tokens: int = Field(default=4096, ge=1)
    memory: Memory = Memory()
    tiers: tuple[str, ...] | None = None  # None: every tier
    owned_by: str = Field(default="lukhas", min_length=1, max_length=64)


class Target(_Strict):
    upstream: str = Field(min_length=1)
    model: str = Field(min_length=1, max_length=256)

    @property
    def id(self) -> str:
        """`upstream/model`, as a deployment's."""
        return f"{self.upstream}/{self.model}"


class Bucket(_Strict):
    """A share of an A/B experiment: served by another group or by one deployment."""

    percent: float = Field(gt=0, le=100)
    group: str | None = None
    deployment: Target | None = None


class Experiment(_Strict):
    salt: str = Field(min_length=1, max_length=256)
    buckets: dict[str, Bucket] = Field(min_length=1)


class Backoff(_Strict):
    """Waits before trying the same deployment again (`app.reliability.backoff_delay`)."""

    base_seconds: float = Field(default=0.5, ge=0, le=60)
    cap_seconds: float = Field(default=8.0, ge=0, le=60)
    jitter: float = Field(default=0.25, ge=0, le=1)


class Retries(_Strict):
    count: int = Field(default=2, ge=0, le=10)
    on_failures: tuple[FailureKind, ...] = ALL_FAILURES
    backoff: Backoff = Backoff()

    _kinds = field_validator("on_failures", mode="before")(_failure_kinds)

    def retryable(self, kind: FailureKind | None) -> bool:
        """Whether a failure of `kind` moves on to the next attempt of the plan."""
        return kind is not None and kind in self.on_failures


class Cooldowns(_Strict):
    failures: int = Field(default=3, ge=1, le=1000)
    window_seconds: float = Field(default=60.0, gt=0, le=86_400)
    cooldown_seconds: float = Field(default=30.0, gt=0, le=86_400)
    on_failures: tuple[FailureKind, ...] = ALL_FAILURES

    _kinds = field_validator("on_failures", mode="before")(_failure_kinds)


class RoutingConfig(_Strict):
    """The whole file. Never mutated: a reload builds a new one and swaps it in."""

    version: Literal[1] = 1
    deadline_seconds: float = Field(default=60.0, gt=0, le=3600)
    upstreams: dict[str, Upstream] = Field(default_factory=dict)
    groups: dict[str, Group] = Field(default_factory=dict)
    aliases: dict[str, str] = Field(default_factory=dict)
    ab: dict[str, Experiment] = Field(default_factory=dict)
    fallbacks: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    retries: Retries = Retries()
    cooldowns: Cooldowns = Cooldowns()

    def group_of(self, model: str) -> str | None:
        """The group a public model id names (itself or through an alias), or None."""
        if model in self.groups:
            return model
        return self.aliases.get(model)

    def model_ids(self) -> list[str]:
        """Every public id served: groups, then aliases."""
        return [*self.groups, *self.aliases]
