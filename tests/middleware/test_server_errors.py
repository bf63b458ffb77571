"""How a 5xx is answered: a fault of ours (500) closes the connection and tells the SDKs not to
retry; a dependency that is down (503) tells them to retry. Routes added by the test only."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.errors import ServiceUnavailable
from app.http_protocol import IMPORT_PATH
from app.main import create_app
from app.settings import Settings
from tests.conftest import KEY_A
from tests.utils.server import free_port


@pytest.fixture
async def failing(pg_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=pg_url, data_dir=tmp_path, api_keys=KEY_A))

    async def broken() -> None:
        raise RuntimeError("a bug")

    async def store_down() -> None:
        raise ServiceUnavailable("The token store is unreachable.")

    app.add_api_route("/v1/test/broken", broken, methods=["POST"])
    app.add_api_route("/v1/test/store-down", store_down)
    async with app.router.lifespan_context(app):
        # The app's exception still reaches the server after the 500 is sent (uvicorn then
        # closes the connection); here the transport keeps it from failing the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://lukhas.test",
                                     headers={"Authorization": f"Bearer {KEY_A}"}) as client:
            yield client


async def test_unhandled_exception_is_a_500_that_closes_and_is_not_retried(
    failing: httpx.AsyncClient, caplog: pytest.LogCaptureFixture,
) -> None:
    resp = await failing.post("/v1/test/broken", json={"x": 1})
    assert resp.status_code == 500
    assert resp.json() == {"error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error", "param": None, "code": "server_error"}}
    assert resp.headers["connection"] == "close"
    assert resp.headers["x-should-retry"] == "false"
    assert resp.headers["x-request-id"]
    assert "a bug" not in resp.text
    assert any(r.name == "lukhas.errors" and r.exc_info for r in caplog.records)


async def test_store_down_is_a_503_to_retry(failing: httpx.AsyncClient) -> None:
    resp = await failing.get("/v1/test/store-down")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "service_unavailable"
    assert resp.headers["x-should-retry"] == "true"
    assert "connection" not in resp.headers


def test_a_500_on_the_wire_closes_the_connection(pg_url: str, tmp_path: Path) -> None:
    """Served by uvicorn with the protocol `lukhas serve` runs: the 500 says
    `connection: close`, and the server closes the connection after it."""
    app = create_app(Settings(database_url=pg_url, data_dir=tmp_path, api_keys=KEY_A))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/test/broken", broken)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, http=IMPORT_PATH, log_config=None,
        timeout_keep_alive=60))  # far longer than the socket's bound below
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"GET /v1/test/broken HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer " + KEY_A.encode() + b"\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):  # ends only if the server closes
                answer += chunk
    finally:
        server.should_exit = True
        thread.join(30)
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 500 ")
    assert b"connection: close" in head
    assert b"x-should-retry: false" in head
