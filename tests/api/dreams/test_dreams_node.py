"""`/v1/dreams` through the OpenAI Node SDK's generic `client.post`/`get`/`delete`."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_openai_node import run_sdk_check
from tests.conftest import KEY_A

pytestmark = pytest.mark.node


def test_node_sdk_dreams(base_url: str) -> None:
    # A caller of its own: its long-term memory holds only what the script says.
    token = httpx.post(f"{base_url}/v1/identity/tokens", headers={
        "Authorization": f"Bearer {KEY_A}"}, json={
        "realm": "LUKHAS", "zone": "node", "tier": "T2"}).json()["token"]
    out = run_sdk_check(base_url, token, "dreams_check.mjs")
    assert out["created"] == {"object": "dream", "status": "queued", "metadata": {"sdk": "node"}}
    assert out["ended"]["status"] == "completed" and out["ended"]["memories"] == 2
    assert out["ended"]["scenarios"] >= 1
    assert out["stream"]["first"] == "dream.queued"
    assert out["stream"]["last"] == "dream.completed"
    assert out["stream"]["numbers"] == list(range(len(out["stream"]["numbers"])))
    assert out["list"] == {"object": "list", "count": 1, "has_more": True}
    assert out["deleted"]["deleted"] is True
    assert out["missing"] == {"name": "NotFoundError", "status": 404, "code": "dream_not_found"}
    assert out["unknown"] == {"name": "BadRequestError", "status": 400, "param": "dream_depth",
                              "code": "unknown_parameter"}
