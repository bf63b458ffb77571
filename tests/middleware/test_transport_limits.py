"""Transport limits of `lukhas serve`, over real sockets: body size whatever the framing, body
and header deadlines, header size, malformed and too-deep JSON.

One server with small limits for the module; every check is an answer or a closed connection,
with socket timeouts only as a bound on a test that would otherwise hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.http_protocol import HEADERS_TOO_LARGE
from tests.conftest import KEY_A
from tests.utils.server import ServerProcess, start_lukhas_serve

MAX_BODY = 64 * 1024
AUTH = {"Authorization": f"Bearer {KEY_A}"}
POST_ROUTES = ["/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/indexes",
               "/v1/identity/tokens", "/v1/no-such-route", "/responses"]


@pytest.fixture(scope="module")
def limited_server(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("transport")
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_MAX_REQUEST_BYTES": str(MAX_BODY), "LUKHAS_BODY_TIMEOUT_SECONDS": "1",
           "LUKHAS_MAX_HEADER_BYTES": "4096", "LUKHAS_KEEP_ALIVE_TIMEOUT_SECONDS": "1"}
    server = start_lukhas_serve(env, data_dir / "server.log")
    yield server
    server.stop()


@pytest.fixture
def http(limited_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=limited_server.base_url, headers=AUTH, timeout=30) as client:
        yield client


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    """A JSON body of `total` bytes, sent chunked (a generator has no length to declare)."""
    head, tail = b'{"model": "lukhas-matriz", "input": "', b'"}'
    body = head + b"x" * (total - len(head) - len(tail)) + tail
    for i in range(0, len(body), size):
        yield body[i:i + size]


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code


@pytest.mark.parametrize("path", POST_ROUTES)
def test_chunked_body_over_the_limit_is_413_on_every_route(http: httpx.Client, path: str) -> None:
    resp = http.post(path, content=chunks(MAX_BODY * 2),
                     headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert resp.request.headers["transfer-encoding"] == "chunked"
    assert_error(resp, 413, "request_too_large")


@pytest.mark.parametrize("path", POST_ROUTES)
def test_declared_length_over_the_limit_is_413_on_every_route(
    http: httpx.Client, path: str
) -> None:
    resp = http.post(path, content=b"".join(chunks(MAX_BODY + 1)),
                     headers={"content-type": "application/json"})
    assert resp.request.headers["content-length"] == str(MAX_BODY + 1)
    assert_error(resp, 413, "request_too_large")


def test_413_without_credentials_too(limited_server: ServerProcess) -> None:
    resp = httpx.post(f"{limited_server.base_url}/v1/responses", content=chunks(MAX_BODY * 2))
    assert_error(resp, 413, "request_too_large")


def test_chunked_body_under_the_limit_is_served(http: httpx.Client) -> None:
    body = json.dumps({"model": "lukhas-matriz", "input": "What is 2+2?"}).encode()
    resp = http.post("/v1/responses", content=iter([body[:10], body[10:20], body[20:]]),
                     headers={"content-type": "application/json"})
    assert resp.request.headers["transfer-encoding"] == "chunked"
    assert resp.status_code == 200, resp.text
    assert resp.json()["object"] == "response" and "4" in resp.text


def test_connection_is_reused_after_a_413(http: httpx.Client) -> None:
    """The refused rest of the body is drained, so the same connection serves the next call."""
    assert_error(http.post("/v1/embeddings", content=chunks(MAX_BODY * 2)), 413,
                 "request_too_large")
    assert http.get("/v1/models").status_code == 200


def test_too_deep_json_is_400(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", content=b"[" * 50_000,
                     headers={"content-type": "application/json"})
    assert_error(resp, 400, "json_too_deep")


@pytest.mark.parametrize("body", [b'{"model": "lukhas-matriz", "input": ', b"{'a': 1}",
                                  b'{"model": "\xff\xfe"}', b"\x00\x01"])
def test_malformed_json_is_400(http: httpx.Client, body: bytes) -> None:
    resp = http.post("/v1/chat/completions", content=body,
                     headers={"content-type": "application/json"})
    assert_error(resp, 400, "invalid_json")


def raw(server: ServerProcess, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(data)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    return received


def test_body_shorter_than_its_content_length_is_408_and_closed(
    limited_server: ServerProcess,
) -> None:
    sock = raw(limited_server, b"POST /v1/responses HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer " + KEY_A.encode() + b"\r\n"
               b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
    answer = read_until_closed(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_chunked_body_that_stops_is_408_and_closed(limited_server: ServerProcess) -> None:
    sock = raw(limited_server, b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer " + KEY_A.encode() + b"\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"in\"\r\n")
    assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_headers_that_never_end_are_cut_off(limited_server: ServerProcess) -> None:
    """A new connection that trickles its headers is closed, answered or not."""
    sock = raw(limited_server, b"GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    assert b"200 OK" not in read_until_closed(sock)


def test_idle_connection_is_closed_after_keep_alive(limited_server: ServerProcess) -> None:
    sock = raw(limited_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" not in answer.lower()  # kept alive, then closed when idle


def test_headers_over_the_limit_are_431(limited_server: ServerProcess) -> None:
    sock = raw(limited_server, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer " + KEY_A.encode() + b"\r\n"
               b"X-Big: " + b"a" * 8192 + b"\r\n\r\n")
    head, _, body = read_until_closed(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_headers_too_large"


def test_headers_growing_past_the_limit_are_refused_before_they_end(
    limited_server: ServerProcess,
) -> None:
    """Headers still arriving are not buffered past the limit: refused, connection closed."""
    sock = raw(limited_server, b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
    with contextlib.suppress(OSError):  # the server may close while we still send
        for i in range(64):
            sock.sendall(b"X-Part-%d: " % i + b"a" * 1000 + b"\r\n")
            time.sleep(0.01)  # separate reads, so no one read holds the whole block
    try:
        answer = read_until_closed(sock)
    except ConnectionResetError:  # our unread sends reset the connection the server closed
        answer = b""
    assert answer.startswith(b"HTTP/1.1 400 ") or (
        not answer and HEADERS_TOO_LARGE in limited_server.output()), answer[:200]


def test_headers_under_the_limit_are_served(limited_server: ServerProcess) -> None:
    resp = httpx.get(f"{limited_server.base_url}/v1/models",
                     headers={**AUTH, "X-Big": "a" * 2048})
    assert resp.status_code == 200


def test_pipelined_requests_are_answered_in_order_each_in_one_write(
        limited_server: ServerProcess) -> None:
    # A response's headers and body leave in one write; three requests sent at once on one
    # connection (the last closing it) come back whole and in order.
    request = ("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY_A
               + "\r\n{extra}\r\n")
    sock = raw(limited_server, b"".join(
        request.format(path=path, extra=extra).encode()
        for path, extra in (("/v1/models", ""), ("/healthz", ""),
                            ("/v1/models/lukhas-matriz", "Connection: close\r\n"))))
    received = read_until_closed(sock)
    answers = received.split(b"HTTP/1.1 ")[1:]
    assert [a[:3] for a in answers] == [b"200"] * 3
    assert b'"object":"list"' in answers[0] and b'"id":"lukhas-matriz"' in answers[2]


async def test_writes_of_one_turn_of_the_loop_leave_as_one() -> None:
    from app.http_protocol import _Corked

    class Transport:
        def __init__(self) -> None:
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes) -> None:
            self.writes.append(data)

        def is_closing(self) -> bool:
            return self.closed

        def close(self) -> None:
            self.closed = True

        def get_extra_info(self, name: str) -> str:
            return name

    transport = Transport()
    corked = _Corked(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"body")
    assert transport.writes == []  # not before the turn ends
    await asyncio.sleep(0)
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    assert corked.get_extra_info("peername") == "peername"  # the rest is the transport's
    corked.write(b"last")
    corked.close()  # what is pending goes before the close
    assert transport.writes[-1] == b"last" and transport.closed
    corked.write(b"too late")
    await asyncio.sleep(0)
    assert transport.writes[-1] == b"last"
    # A long write in one turn goes out once enough is held (the transport's flow control
    # must see it), not at the turn's end.
    transport.closed = False
    corked.write(b"x" * 40_000)
    corked.write(b"y" * 40_000)
    assert transport.writes[-1] == b"x" * 40_000 + b"y" * 40_000
    corked.write(b"after")
    await asyncio.sleep(0)
    assert transport.writes[-1] == b"after"


def test_server_runs_the_guarded_protocol_with_the_configured_timeout() -> None:
    from app.cli import transport_options
    from app.settings import Settings

    options = transport_options(Settings(keep_alive_timeout_seconds=7, max_request_bytes=9999))
    assert options == {"http": "app.http_protocol:GuardedHttpToolsProtocol",
                       "timeout_keep_alive": 7, "ws": "websockets-sansio",
                       "ws_max_size": 9999, "ws_per_message_deflate": False}


def test_the_rest_of_a_refused_body_is_not_drained_for_ever(
    limited_server: ServerProcess,
) -> None:
    """A client that goes on sending after its 413 is cut off once the keep-alive time is up."""
    sock = raw(limited_server, b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 100000000\r\n\r\n")
    answer, closed = b"", False
    try:
        for _ in range(3000):  # 30 s at most; the server's limit is 1 s
            sock.sendall(b"x" * 1000)
            time.sleep(0.01)
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                answer += chunk
            sock.setblocking(True)
    except OSError:  # reset by the server: it closed while we were still sending
        closed = True
    sock.close()
    assert closed
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_server_log_has_no_unhandled_errors(limited_server: ServerProcess) -> None:
    assert "Exception in ASGI application" not in limited_server.output()
    assert "unhandled error" not in Path(limited_server.log_path).read_text()


async def test_a_websocket_outlives_the_header_deadline_and_is_held_to_the_body_limit(
    limited_server: ServerProcess,
) -> None:
    """The upgrade hands the connection over: the keep-alive clock (1 s here) no longer
    applies; a message is bounded as a body is (larger: closed with 1009)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    url = limited_server.base_url.replace("http://", "ws://") + "/v1/responses"
    async with connect(url, additional_headers=AUTH, open_timeout=30) as ws:
        await asyncio.sleep(2.5)
        await ws.send(json.dumps({"type": "response.create", "model": "lukhas-matriz",
                                  "input": "What is 2+3?", "store": False}))
        events = [json.loads(await asyncio.wait_for(ws.recv(), 30))]
        while events[-1]["type"] != "response.completed":
            events.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        await ws.send(json.dumps({"type": "response.create", "model": "lukhas-matriz",
                                  "input": "x" * MAX_BODY}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={**AUTH, "X-Big": "a" * 5000}):
            pass
    assert refused.value.response.status_code == 431
