"""`lukhas routes lint | preview`: exit codes, one line per problem, preview == pick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.routing.cooldown import CooldownSnapshot
from app.routing.load import load_routing
from app.routing.pick import Caller, pick
from tests.routing.files import EXAMPLE, base, write

ROOT = Path(__file__).resolve().parents[2]


def _broken(tmp_path: Path) -> Path:
    data = base()
    data["groups"]["chat"]["deployments"][1]["upstream"] = "nope"
    data["aliases"]["big"] = "chat"
    return write(tmp_path / "routing.yml", data)


def test_lint_says_ok_for_a_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "lint", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_lint_prints_one_line_per_problem(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _broken(tmp_path)
    assert main(["routes", "lint", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: groups.chat.deployments[1].upstream: no upstream named 'nope'",
        f"{path}: aliases.big: shadows the group 'big'",
    ]


def test_lint_of_a_missing_file_exits_2(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "lint", str(tmp_path / "absent.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_lukhas_command_exits_with_the_lint_result(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "app.cli", "routes", "lint"]
    ok = subprocess.run([*command, str(EXAMPLE)], env=env, capture_output=True, text=True,
                        check=False)
    bad = subprocess.run([*command, str(_broken(tmp_path))], env=env, capture_output=True,
                         text=True, check=False)
    assert (ok.returncode, ok.stdout) == (0, "ok\n")
    assert bad.returncode == 1 and len(bad.stdout.splitlines()) == 2


def test_preview_prints_what_pick_returns(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_routing(EXAMPLE)
    for i in range(60):
        subject, request_id = f"key_{i}", f"req_{i % 7}"
        for model in ("qwen", "gpt-4o", "llama3.1-8b"):
            assert main(["routes", "preview", "--model", model, "--subject", subject,
                         "--tier", "T2", "--request-id", request_id, "--file", str(EXAMPLE),
                         "--json"]) == 0
            printed = json.loads(capsys.readouterr().out)
            route = pick(config, model, Caller(subject, "T2"), CooldownSnapshot(),
                         request_id=request_id)
            assert printed == json.loads(json.dumps(route.as_dict()))


def test_preview_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "preview", "--model", "gpt-4o", "--subject", "key_1", "--tier", "T3",
                 "--file", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "model gpt-4o → group gpt-4o (tier T3)"
    assert out[1] == "deadline 60 s for the whole request"
    assert out[2] == "  1. openai/gpt-4o  (group gpt-4o)"
    assert out[3] == "  2. openai/gpt-4o  (group gpt-4o, retry 1, after a backoff)"
    assert "fallback 1" in out[5]


def test_preview_of_a_refused_tier(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", "preview", "--model", "gpt-4o", "--subject", "key_1", "--tier", "T1",
                 "--file", str(EXAMPLE), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert (printed["status"], printed["reason"]) == (404, "tier_not_allowed")
    assert printed["error"]["code"] == "model_not_found"


def test_preview_without_a_file(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LUKHAS_ROUTING_FILE", raising=False)
    monkeypatch.setattr("app.settings.ROUTING_FILE", Path("/nonexistent/routing.yml"))
    assert main(["routes", "preview", "--model", "x", "--subject", "s"]) == 2
    assert "no routing file" in capsys.readouterr().err
