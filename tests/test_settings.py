"""`.env.example` and the Settings class describe the same fields, with the same defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from app.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_env_example_lists_every_field_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    names = [ln.split("=", 1)[0] for ln in lines if re.match(r"^LUKHAS_[A-Z_]+=", ln)]
    fields = {"LUKHAS_" + name.upper() for name in Settings.model_fields}
    assert set(names) == fields
    for i, line in enumerate(lines):
        if line.startswith("LUKHAS_"):
            assert lines[i - 1].startswith("# "), f"{line} needs a one-line comment above it"


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(Settings.model_fields):
        monkeypatch.delenv("LUKHAS_" + key.upper(), raising=False)
    example = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v}
    for key, value in example.items():
        monkeypatch.setenv(key, value or "")
    from_example = Settings(_env_file=None)  # type: ignore[call-arg]
    for key in example:
        monkeypatch.delenv(key)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_example == defaults


def test_unknown_stage_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown MATRIZ stages"):
        Settings(stage_budget_ms={"dreaming": 5.0})
