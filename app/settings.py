"""The one settings class: every field is read from a `LUKHAS_`-prefixed variable or `.env`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STAGES = ("memory", "attention", "thought", "risk", "intent", "action")
ROUTING_FILE = Path(__file__).resolve().parents[1] / "configs" / "routing.yml"
GUARDIAN_POLICY_DIR = Path(__file__).resolve().parents[1] / "configs" / "guardian"


def _default_routing_file() -> Path | None:
    # No file, no routing: the built-in models alone.
    return ROUTING_FILE if ROUTING_FILE.is_file() else None


class Lane(StrEnum):
    """Deployment lane: labels metrics and sets how strict policy is."""

    DEV = "dev"
    CANDIDATE = "candidate"
    INTEGRATION = "integration"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Service configuration; see `.env.example` for one line on each field."""

    model_config = SettingsConfigDict(
        env_prefix="LUKHAS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    lane: Lane = Lane.DEV
    guardian_lanes_file: Path | None = None  # None: configs/runtime/lanes.yaml
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    data_dir: Path = Path(".lukhas")
    database_url: SecretStr | None = None
    db_pool_min: int = Field(default=2, ge=1)
    # Connections per worker: 20 keeps index searches within their budget at 100 concurrent
    # callers of mixed traffic on one worker (10 did not: docs/performance.md).
    db_pool_max: int = Field(default=20, ge=1)
    api_keys: SecretStr | None = None
    api_key_tier: str = "T3"
    redis_url: SecretStr | None = None
    rate_limits_file: Path | None = None
    session_ttl_seconds: float = Field(default=3600.0, gt=0)
    session_max_turns: int = Field(default=50, ge=2)
    session_max_bytes: int = Field(default=64 * 1024, ge=1024)
    lid_keys: SecretStr | None = None
    lid_keys_dir: Path | None = None
    lid_active_kid: str | None = None
    lid_leeway_seconds: float = Field(default=30.0, ge=0, le=3600)
    lid_max_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    lid_realm: str = Field(default="LUKHAS", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    lid_zone: str = Field(default="eu", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    password_time_cost: int = Field(default=2, ge=1, le=64)
    password_memory_kib: int = Field(default=19456, ge=8, le=4 * 1024 * 1024)
    password_parallelism: int = Field(default=1, ge=1, le=64)
    password_min_length: int = Field(default=12, ge=8, le=128)
    account_token_ttl_seconds: int = Field(default=3600, ge=60)
    account_lockout_failures: int = Field(default=5, ge=1, le=1000)
    account_lockout_seconds: float = Field(default=900.0, gt=0)
    totp_key: SecretStr | None = None
    compaction_key: SecretStr | None = None
    totp_issuer: str = "LUKHAS"
    auth_throttle: bool = True
    auth_throttle_window_seconds: float = Field(default=900.0, gt=0)
    auth_throttle_address_failures: int = Field(default=50, ge=1)
    auth_throttle_key_failures: int = Field(default=5, ge=1)
    log_level: str = "info"
    access_log: bool = False
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_file_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    keep_alive_timeout_seconds: int = Field(default=5, ge=1, le=3600)
    # A WebSocket on /v1/responses lasts at most this long (Open Responses: 60 minutes).
    websocket_max_seconds: float = Field(default=3600.0, gt=0, le=3600)
    # Background responses: how many run at once per process (the rest wait, queued); how
    # long a runner's hold on one lasts unless renewed (a crashed runner's responses are
    # failed once it lapses); how long a stopping service lets running ones finish.
    background_concurrency: int = Field(default=8, ge=1, le=1024)
    background_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    background_grace_seconds: float = Field(default=10.0, ge=0, le=3600)
    tick_hz: float = Field(default=30.0, gt=0, le=1000)
    tick_buffer: int = Field(default=4096, ge=16)
    # Dreams run at most this many at once per process, each holding a lease renewed while
    # it runs; a dream whose lease lapsed (its process died) is resumed by another.
    dream_workers: int = Field(default=2, ge=1, le=64)
    dream_lease_seconds: float = Field(default=30.0, ge=1.0, le=3600.0)
    stage_budget_ms: dict[str, float] = Field(
        default_factory=lambda: {
            "memory": 50.0,
            "attention": 10.0,
            "thought": 2000.0,
            "risk": 20.0,
            "intent": 5.0,
            "action": 100.0,
        }
    )
    long_term_memory: bool = True
    # Each pipeline run's intention, action, memory write and reflection in the experience
    # log (feedback is recorded either way: the caller asked for it).
    experience_log: bool = True
    memory_embedding_model: str = "lukhas-hash-v1"
    # Consolidation (app/memory/consolidation.py): memories at this cosine similarity or
    # more fold together, once their caller has been idle this long.
    memory_fold_similarity: float = Field(default=0.9, gt=0, le=1)
    memory_sleep_idle_seconds: float = Field(default=30.0, ge=0)
    embeddings_max_batch: int = Field(default=32, ge=1, le=1024)
    embeddings_max_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    hash_embedding_dimensions: int = Field(default=384, ge=8, le=4096)
    # The embedding model the built-in model matches questions to tools with (None: the
    # first one served, all-MiniLM-L6-v2 when installed), and the similarity a match needs
    # (None: that model's own, app/matriz/tools/match.py).
    tool_embedding_model: str | None = None
    tool_match_threshold: float | None = Field(default=None, ge=-1, le=1)
    context_window_tokens: int = Field(default=128_000, ge=256)
    routing_file: Path | None = Field(default_factory=_default_routing_file)
    routing_reload_seconds: float = Field(default=1.0, gt=0, le=3600)
    # The Guardian's policy: every *.yaml of this directory, followed as it changes.
    guardian_policy_dir: Path = Field(default_factory=lambda: GUARDIAN_POLICY_DIR)
    guardian_reload_seconds: float = Field(default=1.0, gt=0, le=3600)

    @field_validator("database_url", "api_keys", "redis_url", "lid_keys", "lid_keys_dir",
                     "lid_active_kid", "rate_limits_file", "totp_key", "compaction_key",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `LUKHAS_DATABASE_URL=` as copied from .env.example means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("totp_key", "compaction_key")
    @classmethod
    def _key_long_enough(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError(f"LUKHAS_{str(info.field_name).upper()} must be a random secret "
                             "of 32 or more bytes")
        return value

    @field_validator("routing_file", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        # Blank, as copied from .env.example, keeps the default: configs/routing.yml if present.
        return _default_routing_file() if isinstance(value, str) and not value.strip() else value


    @field_validator("guardian_policy_dir", mode="before")
    @classmethod
    def _blank_is_the_shipped_policy(cls, value: object) -> object:
        return GUARDIAN_POLICY_DIR if isinstance(value, str) and not value.strip() else value

    @field_validator("stage_budget_ms")
    @classmethod
    def _known_stages(cls, budgets: dict[str, float]) -> dict[str, float]:
        unknown = set(budgets) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown MATRIZ stages: {sorted(unknown)}; known: {list(STAGES)}")
        return budgets

    def api_key_list(self) -> list[str]:
        """The configured bootstrap API keys, blanks dropped."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    def budget_seconds(self, stage: str) -> float:
        """The time budget of one MATRIZ stage, in seconds."""
        return self.stage_budget_ms.get(stage, 1000.0) / 1000.0
