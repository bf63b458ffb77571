"""A streamed response whose client leaves after `response.created` is still stored (its id
was announced): as `cancelled`, with what had been sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from app.api.responses.protocol import ResponseCreateRequest
from app.identity.base import Identity
from tests.conftest import KEY_A
from tests.utils.server import ServerProcess, generous_limits, start_uvicorn


def _created_id(frame: bytes) -> str:
    data = frame.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    event = orjson.loads(data)
    assert event["type"] == "response.created"
    return str(event["response"]["id"])


async def test_a_stream_closed_after_created_is_stored_cancelled(
        app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    caller = Identity(subject="alice-stream", scopes=frozenset({"responses.write"}),
                      tier="T3", kind="api_key")
    req = ResponseCreateRequest(model="lukhas-matriz", input="What is 20+22?", stream=True)
    frames, _ = await state.responses.stream(caller, req)
    rid = _created_id(await anext(frames))
    await frames.aclose()  # what the SSE response does when the client goes away
    stored = await state.responses.get(caller, rid)
    assert stored.status == "cancelled" and stored.id == rid
    assert stored.output[-1].status == "incomplete"

    unstored = ResponseCreateRequest(model="lukhas-matriz", input="hi", stream=True,
                                     store=False)
    frames, _ = await state.responses.stream(caller, unstored)
    rid = _created_id(await anext(frames))
    await frames.aclose()
    assert (await app_client.get(f"/v1/responses/{rid}")).status_code == 404, \
        "store: false keeps nothing, abandoned or not"


@pytest.fixture
def unlimited_server(pg_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(tmp_path), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_RATE_LIMITS_FILE": str(generous_limits(tmp_path))}
    server = start_uvicorn(env, tmp_path / "server.log")
    yield server
    server.stop()


async def test_hundreds_of_aborted_streams_are_all_found(
        unlimited_server: ServerProcess) -> None:
    auth = {"Authorization": f"Bearer {KEY_A}"}
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=unlimited_server.base_url, headers=auth,
                                 timeout=60, limits=limits) as http:

        async def abort_after_created(i: int) -> str:
            body = {"model": "lukhas-matriz", "stream": True,
                    "input": f"Tell me about number {i} and why it matters. " * 20}
            async with http.stream("POST", "/v1/responses", json=body) as resp:
                assert resp.status_code == 200
                async for line in resp.aiter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[6:])
                        assert event["type"] == "response.created"
                        return str(event["response"]["id"])  # leaving closes the stream
            raise AssertionError("no response.created")

        ids = await asyncio.gather(*(abort_after_created(i) for i in range(300)))
        assert len(set(ids)) == 300
        # An abandoned stream stores what it had within its cleanup time (10 s), after the
        # client has gone: wait for each, up to that and a margin for a loaded machine.
        statuses: dict[str, int] = {}
        deadline = time.monotonic() + 30
        pending = list(ids)
        while pending:
            batch = pending[:50]
            found = await asyncio.gather(*(http.get(f"/v1/responses/{rid}") for rid in batch))
            waiting = False
            for rid, resp in zip(batch, found, strict=True):
                if resp.status_code == 404 and time.monotonic() < deadline:
                    waiting = True  # not stored yet: asked again below
                    continue
                assert resp.status_code == 200, resp.text
                statuses[resp.json()["status"]] = statuses.get(resp.json()["status"], 0) + 1
                pending.remove(rid)
            if waiting:
                await asyncio.sleep(0.2)
        assert set(statuses) <= {"completed", "cancelled"}, statuses
