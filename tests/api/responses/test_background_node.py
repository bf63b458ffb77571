"""The official OpenAI Node SDK (npm `openai`): background responses against the live server."""

from __future__ import annotations

import pytest

from tests.api.test_openai_node import run_sdk_check
from tests.conftest import KEY_A

pytestmark = pytest.mark.node


def test_node_sdk_background_responses(base_url: str) -> None:
    out = run_sdk_check(base_url, KEY_A, "background_check.mjs")
    assert out["created"] == {"status": "queued", "background": True, "output": 0}
    assert out["done"]["status"] == "completed" and out["done"]["background"] is True
    assert "144" in out["done"]["text"]
    assert out["streamed"]["types"] == ["response.created", "response.queued",
                                        "response.in_progress"]
    assert out["streamed"]["last"] == "response.completed" and out["streamed"]["contiguous"]
    assert "13" in out["streamed"]["text"]
    assert out["resumed"]["first"] == 3 and out["resumed"]["same"] is True
    assert out["cancelFinished"]["name"] == "BadRequestError"
    assert "completed" in out["cancelFinished"]["message"]
    assert out["cancelPlain"] == {"name": "BadRequestError", "status": 400}
    assert out["unstored"] == {"status": 400, "param": "background"}
