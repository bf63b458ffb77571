"""The official OpenAI Node SDK through a live server: file_search over the caller's indexes
with the built-in model, and streamed with a routed model on a mock upstream."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.server import ServerProcess

pytestmark = pytest.mark.node
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
REPLY = "Refunds are accepted within 30 days [1]."


def test_node_sdk_file_search(routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the compatibility tests"
    server, upstream = routed_server
    upstream.behave("reply", reply=REPLY)
    run = subprocess.run(
        [node, "file_search_check.mjs"], cwd=NODE_DIR, capture_output=True, text=True,
        timeout=120, env={**os.environ, "LUKHAS_BASE_URL": f"{server.base_url}/v1",
                          "LUKHAS_API_KEY": KEY_A, "LUKHAS_MODEL": "gpt-test"})
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    handbook, _ = out["documents"]
    quote = "Refunds are accepted within 30 days of purchase for online orders."
    builtin = out["builtin"]
    assert builtin["types"] == ["file_search_call", "reasoning", "message"]
    assert builtin["call"] == {"status": "completed",
                               "queries": ["What is the refund window for online orders?"],
                               "results": out["documents"]}
    assert builtin["text"] == f'From handbook.md: "{quote}" [1]'
    assert builtin["annotations"] == [{"type": "file_citation", "file_id": handbook,
                                       "filename": "handbook.md",
                                       "index": builtin["text"].index("[1]")}]
    routed = out["routed"]
    assert routed["events"] == ["response.file_search_call.in_progress",
                                "response.file_search_call.searching",
                                "response.file_search_call.completed"]
    citation = {"type": "file_citation", "file_id": handbook, "filename": "handbook.md",
                "index": REPLY.index("[1]")}
    assert routed["text"] == REPLY and routed["call"] == "file_search_call"
    assert routed["annotated"] == [citation] and routed["annotations"] == [citation]
    assert out["missing"] == {"name": "NotFoundError", "status": 404, "code": "index_not_found",
                              "param": "tools[0].vector_store_ids[0]"}
    # The upstream was called once, with the passages as numbered sources.
    [sent] = upstream.requests("/v1/chat/completions")
    system = [m["content"] for m in sent["body"]["messages"] if m["role"] == "system"]
    assert f"[1] handbook.md ({handbook})" in system[-1]
