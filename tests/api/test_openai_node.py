"""The official OpenAI Node SDK (npm `openai`) against the live server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KEY_A

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def run_sdk_check(base_url: str, api_key: str, script: str = "sdk_check.mjs",
                  **env_vars: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), (
        "run `npm install --prefix tests/node` (make test does this)")
    env = {**os.environ, "LUKHAS_BASE_URL": f"{base_url}/v1", "LUKHAS_API_KEY": api_key,
           **env_vars}
    run = subprocess.run([node, script], cwd=NODE_DIR, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out: dict[str, Any] = json.loads(run.stdout)
    return out


@pytest.mark.parametrize("credential", ["api_key", "lid_token"])
def test_node_sdk_stream_helpers_and_errors(base_url: str, credential: str) -> None:
    key = KEY_A
    if credential == "lid_token":
        key = httpx.post(f"{base_url}/v1/identity/tokens", headers={
            "Authorization": f"Bearer {KEY_A}"}, json={
            "realm": "LUKHAS", "zone": "node", "tier": "T2"}).json()["token"]
    out = run_sdk_check(base_url, key)
    assert out["responses"]["status"] == "completed"
    assert "4" in out["responses"]["output_text"]
    assert out["responses"]["deltas"] >= 1  # a short answer passes the output policy whole
    assert out["responses"]["types"] == ["reasoning", "message"]
    assert "Ada" in out["recall"]
    assert out["retrieved"] is True
    assert out["compact"]["object"] == "response.compaction"
    assert out["compact"]["types"] == ["message", "compaction"]
    assert out["compact"]["usage"] > 0
    assert "Ada" in out["compact"]["recall"] and out["compact"]["first"] in out["compact"]["recall"]
    assert "47" in out["chat"]["content"]
    assert out["chat"]["role"] == "assistant"
    assert out["chat"]["finish_reason"] == "stop"
    assert out["chat"]["usage"]["total_tokens"] > 0
    assert out["notFound"]["name"] == "NotFoundError"
    assert out["notFound"]["status"] == 404
    assert out["notFound"]["code"] == "response_not_found"
    assert out["notFound"]["requestID"]
    # The Node SDK decodes base64 itself; had the server sent floats, vectors would be 96 long.
    assert out["embeddings"]["lengths"] == [384, 384]
    assert out["embeddings"]["maxDiff"] < 1e-6
