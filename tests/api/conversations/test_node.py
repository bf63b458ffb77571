"""The official OpenAI Node SDK (npm `openai`): the Conversations API and `conversation` on
a response, against the live server."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_openai_node import run_sdk_check
from tests.conftest import KEY_A

pytestmark = pytest.mark.node


def test_node_sdk_conversations(base_url: str) -> None:
    token = httpx.post(f"{base_url}/v1/identity/tokens", headers={
        "Authorization": f"Bearer {KEY_A}"}, json={
        "realm": "LUKHAS", "zone": "node", "tier": "T2"}).json()["token"]
    out = run_sdk_check(base_url, token, "conversations_check.mjs")
    conv = out["created"]["id"]
    assert conv.startswith("conv_") and out["created"]["object"] == "conversation"
    assert out["created"]["metadata"] == {"topic": "node"} and out["updated"] == {"topic": "n2"}
    assert "Ada Lovelace" in out["recall"]
    assert out["conversationOfResponse"] == conv
    # 1 item made with the conversation, 3 per response (input, reasoning, message), 1 added.
    assert out["items"] == {"count": 8, "last": True, "unique": 8}
    assert out["retrieved"].startswith("msg_") and out["afterItemDelete"] == conv
    assert out["both"] == {"status": 400, "code": "mutually_exclusive_parameters"}
    assert out["deleted"] == {"id": conv, "object": "conversation.deleted", "deleted": True}
    assert out["gone"] == {"name": "NotFoundError", "status": 404,
                           "code": "conversation_not_found"}
