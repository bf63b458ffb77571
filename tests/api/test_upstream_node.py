"""The official OpenAI Node SDK through a live server to a routed model on a mock upstream:
plain and streamed responses, a function-tool round trip, a chat stream, an image in an
earlier turn, a missing model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.test_upstream_media import PIXEL
from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import LIVE_UPSTREAM_KEY
from tests.utils.server import ServerProcess

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def test_node_sdk_through_a_routed_model(
        routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    server, upstream = routed_server
    run = subprocess.run(
        [node, "routed_check.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LUKHAS_BASE_URL": f"{server.base_url}/v1", "LUKHAS_API_KEY": KEY_A,
             "LUKHAS_MODEL": "gpt-test"})
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["plain"] == {"status": "completed", "text": "Echo: plain from node"}
    assert out["stream"]["text"] == "Echo: streamed from node"
    assert out["stream"]["deltas"] >= 1  # a short answer passes the output policy whole
    assert out["tool"]["name"] == "get_weather"
    assert isinstance(out["tool"]["args"]["city"], str)
    assert out["tool"]["answer"] == "Tool result: 18 C and sunny"
    assert out["chat"] == {"content": "Echo: chat from node", "finish": "stop"}
    assert out["missing"] == {"name": "NotFoundError", "status": 404, "code": "model_not_found"}
    assert out["history"] == {"status": "completed", "text": "Echo: Which colour is it?"}
    # Every call reached the upstream with the key from the environment variable.
    seen = upstream.requests()
    assert len(seen) == 6  # the missing model never reaches it
    said = seen[-1]["body"]["messages"]  # after any long-term memory the caller has
    assert next(m for m in said if m["role"] == "user") == {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": PIXEL, "detail": "low"}}]}
    assert all(r["headers"].get("authorization") == f"Bearer {LIVE_UPSTREAM_KEY}" for r in seen)
