"""The body limit's depth check: bodies nested past what the service stores and echoes are a
400 `json_too_deep`, at the door, whatever the route; the rest pass untouched."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.middleware.body_limit import MAX_JSON_DEPTH, too_deep


def nested(depth: int) -> Any:
    """Arrays and objects, alternating, `depth` levels deep."""
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [1, 10, MAX_JSON_DEPTH])
def test_depth_up_to_the_limit_passes(depth: int) -> None:
    assert not too_deep(json.dumps({"x": nested(depth - 1)}).encode())


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 900])
def test_depth_past_the_limit_is_caught(depth: int) -> None:
    assert too_deep(json.dumps({"x": nested(depth - 1)}).encode())
    assert too_deep(b"[" * 100_000)


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"a": "[{" * 1000, "b": ['\\"[[[' * 100, "]]]" * 50]}).encode()
    assert not too_deep(body)


def test_many_shallow_brackets_are_not_depth() -> None:
    body = json.dumps({"input": [[1, 2]] * 10_000}).encode()
    assert not too_deep(body)


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/chat/completions", "/v1/embeddings",
                                  "/v1/indexes/idx_missing/documents", "/v1/identity/revoke"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 100_000])
async def test_too_deep_bodies_are_400_on_every_route(
    app_client: httpx.AsyncClient, path: str, depth: int
) -> None:
    if depth > 1000:  # past what any parser takes: the example of the spec
        body = b"[" * depth
    else:
        body = json.dumps({"model": "lukhas-matriz", "input": "hi", "tools": [nested(depth)],
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
    resp = await app_client.post(path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "json_too_deep"


async def test_stored_response_with_deep_but_allowed_tools_is_served(
    app_client: httpx.AsyncClient,
) -> None:
    """Depth just under the limit is stored and echoed (orjson takes up to 254 levels); the
    schema is valid, its depth in an annotation, which a schema may hold any JSON in."""
    tools = [{"type": "function", "name": "f", "parameters": {
        "type": "object", "properties": {}, "$comment": "deep examples",
        "examples": [nested(MAX_JSON_DEPTH - 6)]}}]
    resp = await app_client.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is 2+2?", "tools": tools, "tool_choice": "none"})
    assert resp.status_code == 200, resp.text
    echoed = [{**tools[0], "description": None, "strict": None}]  # normalised, as OpenAI does
    assert resp.json()["tools"] == echoed
    assert (await app_client.get(f"/v1/responses/{resp.json()['id']}")).json()["tools"] == echoed
