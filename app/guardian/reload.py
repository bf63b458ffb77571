"""The policy in force, followed as `configs/guardian/*.yaml` change (app.config_files).

Every file of the directory is read on each poll; an edit to any of them, a file added or
removed, builds the whole policy anew. An invalid result keeps the running policy, and
`lukhas_guardian_policy_reload_total{outcome}` counts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from app.config_files import FileReloader, Snapshot
from app.guardian.compiled import GuardianPolicyError, Policy, compile_policy
from app.routing.problems import Problem

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "configs" / "guardian"


class GuardianMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reload_total = Counter(
            "lukhas_guardian_policy_reload_total",
            "Guardian policy reloads by outcome (applied, invalid, missing).",
            ["outcome"], registry=registry)


def read_policy_dir(directory: Path) -> Snapshot:
    """Every `*.yaml` of `directory`, by name (OSError when the directory cannot be read)."""
    return tuple((p.name, p.read_bytes()) for p in sorted(directory.glob("*.yaml")))


def load_policy(directory: Path = DEFAULT_DIR,
                embedding_models: Iterable[str] | None = None) -> Policy:
    """Read and compile the policy of `directory` once (tools and tests)."""
    return compile_policy(read_policy_dir(directory), embedding_models)


class PolicyReloader(FileReloader[Policy]):
    """Holds the policy in force and keeps it in step with its files."""

    what = "guardian policy"
    invalid = (GuardianPolicyError,)

    def __init__(self, directory: Path, metrics: GuardianMetrics, *, interval_s: float = 1.0,
                 embedding_models: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__(metrics.reload_total, interval_s=interval_s)
        self.directory = directory
        self._models = embedding_models

    @property
    def policy(self) -> Policy:
        """The policy in force (take it once per request)."""
        return self.value

    def read(self) -> Snapshot:
        snapshot = read_policy_dir(self.directory)
        if not snapshot:  # an emptied directory is a missing policy, not an empty one
            raise FileNotFoundError(f"no *.yaml in {self.directory}")
        return snapshot

    def parse(self, snapshot: Snapshot) -> Policy:
        return compile_policy(snapshot, None if self._models is None else list(self._models()))

    def describe(self, value: Policy) -> str:
        return f"{value.label} applied: {len(value.rules)} rules from {len(value.files)} files"

    def load(self) -> Policy:
        """Read the files at start-up: unreadable or invalid ones are a GuardianPolicyError."""
        try:
            return super().load()
        except OSError as exc:
            raise GuardianPolicyError([Problem(str(self.directory), f"cannot read: "
                                               f"{exc.strerror or exc}")]) from None
