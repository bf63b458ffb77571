"""The official OpenAI Node SDK (npm `openai`) against the live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KEY_A

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def test_node_sdk_stream_helpers_and_errors(base_url: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), (
        "run `npm ci --prefix tests/node` (make test does this)")
    env = {**os.environ, "LUKHAS_BASE_URL": f"{base_url}/v1", "LUKHAS_API_KEY": KEY_A}
    run = subprocess.run([node, "sdk_check.mjs"], cwd=NODE_DIR, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["responses"]["status"] == "completed"
    assert "4" in out["responses"]["output_text"]
    assert out["responses"]["deltas"] > 1
    assert out["responses"]["types"] == ["reasoning", "message"]
    assert "Ada" in out["recall"]
    assert out["retrieved"] is True
    assert "47" in out["chat"]["content"]
    assert out["chat"]["role"] == "assistant"
    assert out["chat"]["finish_reason"] == "stop"
    assert out["chat"]["usage"]["total_tokens"] > 0
    assert out["notFound"]["name"] == "NotFoundError"
    assert out["notFound"]["status"] == 404
    assert out["notFound"]["code"] == "response_not_found"
    assert out["notFound"]["requestID"]
