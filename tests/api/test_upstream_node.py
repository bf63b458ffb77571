"""The official OpenAI Node SDK through a live server to a routed model on a mock upstream:
plain and streamed responses, a function-tool round trip, a chat stream, a missing model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routing
from tests.utils.server import start_uvicorn

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
UPSTREAM_KEY = "sk-node-upstream-key-0007"


def test_node_sdk_through_a_routed_model(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    upstream = mock_upstream_factory(api_key=UPSTREAM_KEY)
    path = tmp_path / "routing.yml"
    path.write_text(yaml.safe_dump(routing(upstream.url)))
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(tmp_path), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_ROUTING_FILE": str(path), UPSTREAM_KEY_ENV: UPSTREAM_KEY}
    server = start_uvicorn(env, tmp_path / "server.log")
    try:
        run = subprocess.run(
            [node, "routed_check.mjs"], cwd=NODE_DIR, capture_output=True, text=True,
            timeout=120, env={**os.environ, "LUKHAS_BASE_URL": f"{server.base_url}/v1",
                              "LUKHAS_API_KEY": KEY_A, "LUKHAS_MODEL": "gpt-test"})
    finally:
        server.stop()
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["plain"] == {"status": "completed", "text": "Echo: plain from node"}
    assert out["stream"]["text"] == "Echo: streamed from node"
    assert out["stream"]["deltas"] > 1
    assert out["tool"]["name"] == "get_weather"
    assert isinstance(out["tool"]["args"]["city"], str)
    assert out["tool"]["answer"] == "Tool result: 18 C and sunny"
    assert out["chat"] == {"content": "Echo: chat from node", "finish": "stop"}
    assert out["missing"] == {"name": "NotFoundError", "status": 404, "code": "model_not_found"}
    # Every call reached the upstream with the key from the environment variable.
    seen = upstream.requests()
    assert len(seen) == 5  # the missing model never reaches it
    assert all(r["headers"].get("authorization") == f"Bearer {UPSTREAM_KEY}" for r in seen)
