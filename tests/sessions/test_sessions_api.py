"""Sessions through the API: `x-lukhas-session`, chains, and surviving a restart with Redis."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import KEY_A
from tests.utils.app import running_app
from tests.utils.server import start_uvicorn

ASK = {"model": "lukhas-matriz", "store": False}


@pytest.fixture
async def app_client(pg_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Long-term memory off: these tests are about working memory alone."""
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           long_term_memory=False) as client:
        yield client


async def test_a_named_session_remembers_across_requests(app_client: httpx.AsyncClient) -> None:
    session = {"x-lukhas-session": "trip-42"}
    told = await app_client.post("/v1/responses", headers=session,
                                 json={**ASK, "input": "My favourite colour is teal."})
    assert told.headers["x-lukhas-session"] == "trip-42"
    asked = await app_client.post("/v1/responses", headers=session,
                                  json={**ASK, "input": "What is my favourite colour?"})
    assert "teal" in asked.json()["output"][1]["content"][0]["text"]
    other = await app_client.post("/v1/responses", headers={"x-lukhas-session": "trip-43"},
                                  json={**ASK, "input": "What is my favourite colour?"})
    assert "teal" not in other.text
    chat = await app_client.post("/v1/chat/completions", headers=session, json={
        "model": "lukhas-matriz",
        "messages": [{"role": "user", "content": "What is my favourite colour?"}]})
    assert "teal" in chat.json()["choices"][0]["message"]["content"]


async def test_sessions_belong_to_the_caller(app_client: httpx.AsyncClient) -> None:
    session = {"x-lukhas-session": "shared-name"}
    await app_client.post("/v1/responses", headers=session,
                          json={**ASK, "input": "My name is Ada Lovelace."})
    other = (await app_client.post("/v1/identity/tokens", json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"})).json()["token"]
    resp = await app_client.post(
        "/v1/responses", json={**ASK, "input": "What is my name?"},
        headers={**session, "Authorization": f"Bearer {other}"})
    assert resp.status_code == 200
    assert "Ada" not in resp.text, "the same session name is another caller's own session"


async def test_a_chain_has_a_session_named_after_its_first_response(
    app_client: httpx.AsyncClient,
) -> None:
    first = await app_client.post("/v1/responses", json={"model": "lukhas-matriz",
                                                         "input": "My name is Ada Lovelace."})
    rid = first.json()["id"]
    assert first.headers["x-lukhas-session"] == rid
    second = await app_client.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is my name?", "previous_response_id": rid})
    assert second.headers["x-lukhas-session"] == rid
    assert "Ada" in second.text


async def test_bad_session_ids_are_400(app_client: httpx.AsyncClient) -> None:
    resp = await app_client.post("/v1/responses", headers={"x-lukhas-session": "a b"},
                                 json={**ASK, "input": "hi"})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "x-lukhas-session"


@pytest.mark.slow
def test_with_redis_a_session_survives_a_restart(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_REDIS_URL": redis_url, "LUKHAS_DATA_DIR": str(tmp_path),
           "LUKHAS_LOG_LEVEL": "warning"}
    headers = {"Authorization": f"Bearer {KEY_A}", "x-lukhas-session": "restart-me"}
    first = start_uvicorn(env, tmp_path / "first.log")
    try:
        told = httpx.post(f"{first.base_url}/v1/responses", headers=headers,
                          json={**ASK, "input": "My name is Ada Lovelace."})
        assert told.status_code == 200
    finally:
        first.stop(signal.SIGTERM)
    second = start_uvicorn(env, tmp_path / "second.log")
    try:
        asked = httpx.post(f"{second.base_url}/v1/responses", headers=headers,
                           json={**ASK, "input": "What is my name?"})
        assert "Ada Lovelace" in asked.text, "store was false: only the session remembered"
    finally:
        second.stop()


async def test_a_chains_session_starts_from_the_whole_chain(
    app_client: httpx.AsyncClient,
) -> None:
    sessions = app_client.app.state.lukhas.sessions  # type: ignore[attr-defined]
    subject = (await app_client.get("/v1/identity/me")).json()["subject"]
    first = (await app_client.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "My name is Ada Lovelace."})).json()
    assert await sessions.get(subject, first["id"]) is None, "a one-off leaves nothing behind"
    second = (await app_client.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is 2+2?",
        "previous_response_id": first["id"]})).json()
    kept = await sessions.get(subject, first["id"])
    assert kept is not None and [t.role for t in kept] == ["user", "assistant"] * 2
    assert kept[0].text == "My name is Ada Lovelace."
    third = await app_client.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is my name?",
        "previous_response_id": second["id"]})
    assert "Ada Lovelace" in third.text
