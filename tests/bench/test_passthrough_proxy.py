"""The gateway bench's floor, `load/passthrough_proxy.py`, forwards chat completions unchanged:
plain, streamed, and the upstream's errors, to the real mock upstream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from load.passthrough_proxy import create_app
from tests.utils.mock_upstream import MockUpstream

BODY = {"model": "mock-gpt", "max_tokens": 32,
        "messages": [{"role": "system", "content": "Be terse."},
                     {"role": "user", "content": "hello there"}]}
AUTH = {"Authorization": "Bearer caller-key"}


@pytest.fixture(params=["httpx", "aiohttp"])
async def proxy(mock_upstream: MockUpstream,
                request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(mock_upstream.url, pool=4, transport=request.param)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            yield client


async def test_plain_request_forwarded_unchanged(proxy: httpx.AsyncClient,
                                                 mock_upstream: MockUpstream) -> None:
    response = await proxy.post("/v1/chat/completions", json=BODY, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hello there"
    seen = mock_upstream.last()
    assert seen["body"] == BODY
    assert seen["headers"]["authorization"] == "Bearer caller-key"


async def test_stream_forwarded_as_events(proxy: httpx.AsyncClient) -> None:
    response = await proxy.post("/v1/chat/completions", json={**BODY, "stream": True},
                                headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    text = "".join(json.loads(d)["choices"][0]["delta"].get("content") or ""
                   for d in data[:-1] if json.loads(d)["choices"])
    assert text == "Echo: hello there"


async def test_upstream_error_passed_through(proxy: httpx.AsyncClient,
                                             mock_upstream: MockUpstream) -> None:
    mock_upstream.behave("rate_limit", retry_after=3)
    response = await proxy.post("/v1/chat/completions", json=BODY, headers=AUTH)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limit_exceeded"
