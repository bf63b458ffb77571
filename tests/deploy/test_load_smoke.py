"""`make load-smoke`, short: k6's mixed traffic against the service on its embedded defaults,
with no failed request (the script's own exit status) and a figure for every route."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.utils.server import free_port

pytestmark = [pytest.mark.load, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_load_smoke_short(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    env = {**os.environ, "VUS": "20", "DURATION": "15s", "PORT": str(free_port()),
           "OUT": str(out)}
    result = subprocess.run([str(ROOT / "load" / "smoke.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out.read_text())
    assert set(summary["routes"]) == {"responses", "responses_stream", "chat", "embeddings",
                                      "index_search"}
    assert all(r["requests"] > 0 and r["error_rate"] == 0 for r in summary["routes"].values())
    assert "p95 ms" in result.stdout
