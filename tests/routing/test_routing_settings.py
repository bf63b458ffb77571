"""`routing_file`: configs/routing.yml when it exists, else none; blank keeps that default."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings


def test_no_file_means_no_routing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LUKHAS_ROUTING_FILE", raising=False)
    monkeypatch.setattr("app.settings.ROUTING_FILE", tmp_path / "routing.yml")
    assert Settings(_env_file=None).routing_file is None  # type: ignore[call-arg]
    (tmp_path / "routing.yml").write_text("groups: {}\n")
    assert Settings(_env_file=None).routing_file == tmp_path / "routing.yml"  # type: ignore[call-arg]
    monkeypatch.setenv("LUKHAS_ROUTING_FILE", "")
    assert Settings(_env_file=None).routing_file == tmp_path / "routing.yml"  # type: ignore[call-arg]
    monkeypatch.setenv("LUKHAS_ROUTING_FILE", "/etc/lukhas/routing.yml")
    assert Settings(_env_file=None).routing_file == Path("/etc/lukhas/routing.yml")  # type: ignore[call-arg]


def test_the_reload_interval_is_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUKHAS_ROUTING_RELOAD_SECONDS", "0")
    with pytest.raises(ValueError, match="routing_reload_seconds"):
        Settings(_env_file=None)  # type: ignore[call-arg]
