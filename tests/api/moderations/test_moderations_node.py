"""`moderations.create` of the official OpenAI Node SDK against the live server."""

from __future__ import annotations

import pytest

from tests.api.test_openai_node import run_sdk_check
from tests.conftest import KEY_A

pytestmark = pytest.mark.node


def test_node_sdk_moderations(base_url: str) -> None:
    out = run_sdk_check(base_url, KEY_A, "moderations_check.mjs")
    assert out["one"]["id"].startswith("modr-") and out["one"]["model"] == "lukhas-guardian-1"
    assert out["one"]["flagged"] is True and out["one"]["threatening"] is True
    assert out["one"]["score"] >= 0.6 and out["one"]["applied"] == ["text"]
    assert out["many"] == [{"flagged": False, "injection": False},
                           {"flagged": True, "injection": True}]
    assert out["parts"] == {"model": "lukhas-guardian-1", "results": 1, "pii": True}
    assert out["unknownModel"] == {"name": "BadRequestError", "status": 400,
                                   "code": "model_not_found", "param": "model"}
