"""The official OpenAI Node SDK (npm `openai`, its strict stream helpers) against the mock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.utils.mock_upstream import MockUpstream

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def test_node_sdk_stream_helpers_tools_embeddings_and_errors(mock_upstream: MockUpstream) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), "run `npm install --prefix tests/node`"
    run = subprocess.run([node, "mock_upstream_check.mjs"], cwd=NODE_DIR, capture_output=True,
                         env={**os.environ, "MOCK_BASE_URL": mock_upstream.url}, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["responses"] == {"status": "completed", "output_text": "Echo: hello from node",
                                "deltas": 4}
    assert out["functionCall"] == {"type": "function_call", "name": "lookup",
                                   "arguments": {"q": "lookup this"}}
    assert out["chat"]["finish_reason"] == "tool_calls" and out["chat"]["role"] == "assistant"
    [call] = out["chat"]["tool_calls"]
    assert call["name"] == "lookup" and call["arguments"] == {"q": "call lookup please"}
    assert call["id"].startswith("call_")
    assert out["chat"]["usage"]["total_tokens"] > 0
    assert out["embeddings"] == [32, 32]
    assert out["rateLimit"] == {"name": "RateLimitError", "status": 429, "retryAfter": "2",
                                "code": "rate_limit_exceeded"}
    assert all(r["headers"]["authorization"] == "Bearer sk-node" for r in mock_upstream.requests())
