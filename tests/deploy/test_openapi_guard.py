"""The OpenAPI breaking-change guard: the app's document keeps the released contract, and the
guard tells breaking changes from additive ones."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from openapi_guard import CURRENT, SNAPSHOT, breaking_changes  # noqa: E402


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SNAPSHOT.read_text())
    return doc


def test_the_document_keeps_the_released_contract(snapshot: dict[str, Any]) -> None:
    assert breaking_changes(snapshot, yaml.safe_load(CURRENT.read_text())) == []


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    return schemas


def _breaks(snapshot: dict[str, Any], change: Any) -> list[str]:
    new = copy.deepcopy(snapshot)
    change(new)
    return breaking_changes(snapshot, new)


def test_removals_and_narrowing_break(snapshot: dict[str, Any]) -> None:
    assert _breaks(snapshot, lambda d: d["paths"].pop("/v1/embeddings")) == [
        "/v1/embeddings: removed"]
    assert _breaks(snapshot, lambda d: d["paths"]["/v1/responses/{response_id}"].pop("delete"))
    request = _schemas(snapshot)["EmbeddingRequest"]
    assert "encoding_format" in request["properties"]

    def drop_field(d: dict[str, Any]) -> None:
        _schemas(d)["EmbeddingRequest"]["properties"].pop("encoding_format")
    assert any("encoding_format: removed" in p for p in _breaks(snapshot, drop_field))

    def require(d: dict[str, Any]) -> None:
        _schemas(d)["EmbeddingRequest"].setdefault("required", []).append("encoding_format")
    assert any("newly required" in p for p in _breaks(snapshot, require))

    def narrow(d: dict[str, Any]) -> None:
        _schemas(d)["EmbeddingRequest"]["properties"]["encoding_format"] = {"type": "integer"}
    assert any("encoding_format" in p for p in _breaks(snapshot, narrow))

    def drop_response_field(d: dict[str, Any]) -> None:
        schema = _schemas(d)["EmbeddingList"]
        schema["properties"].pop("usage")
    assert any("usage" in p for p in _breaks(snapshot, drop_response_field))


def test_additions_do_not_break(snapshot: dict[str, Any]) -> None:
    def add(d: dict[str, Any]) -> None:
        d["paths"]["/v1/new"] = {"get": {"responses": {"200": {"description": "ok"}}}}
        _schemas(d)["EmbeddingRequest"]["properties"]["new_option"] = {"type": "string"}
        _schemas(d)["EmbeddingList"]["properties"]["new_field"] = {"type": "string"}
    assert _breaks(snapshot, add) == []


def test_enum_values_removed_from_requests_or_added_to_responses_break() -> None:
    def doc(request_enum: list[str], response_enum: list[str]) -> dict[str, Any]:
        body = {"type": "object", "properties": {"mode": {"type": "string",
                                                          "enum": request_enum}}}
        reply = {"type": "object", "required": ["status"],
                 "properties": {"status": {"type": "string", "enum": response_enum}}}
        return {"paths": {"/x": {"post": {
            "requestBody": {"content": {"application/json": {"schema": body}}},
            "responses": {"200": {"content": {"application/json": {"schema": reply}}}}}}}}

    base = doc(["a", "b"], ["done"])
    assert breaking_changes(base, doc(["a", "b", "c"], ["done"])) == []
    assert breaking_changes(base, doc(["a"], ["done"])) == [
        "POST /x request.mode: enum values removed ['b']"]
    assert breaking_changes(base, doc(["a", "b"], ["done", "new"])) == [
        "POST /x response 200.status: enum values added ['new']"]
