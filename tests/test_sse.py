"""`app.sse.EventStream`: frames out as they come, pings while idle, and a client that leaves
ends the stream and runs the frames' cleanup, whether they were waiting or sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app import sse
from app.sse import EventStream


class Client:
    """An ASGI server's side of one response: what was sent, and a disconnect on demand."""

    def __init__(self, method: str = "POST") -> None:
        self.scope: dict[str, Any] = {"type": "http", "method": method}
        self.messages: list[dict[str, Any]] = []
        self.left = asyncio.Event()
        self.got_body = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self.got_body.set()

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def test_frames_go_out_in_order_with_the_stream_headers() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    client = Client()
    response = EventStream(frames())
    response.headers["x-lukhas-session"] = "sess_1"
    await response(client.scope, client.receive, client.send)
    start = client.messages[0]
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert headers[b"cache-control"] == b"no-cache"
    assert headers[b"x-accel-buffering"] == b"no"
    assert headers[b"x-lukhas-session"] == b"sess_1"
    assert client.body == b"data: 1\n\ndata: 2\n\n"
    assert client.messages[-1] == {"type": "http.response.body", "body": b"",
                                   "more_body": False}


async def test_a_client_leaving_while_the_frames_wait_cancels_them() -> None:
    cleaned: list[str] = []

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await asyncio.sleep(3600)  # a pipeline that never answers
            yield b"data: never\n\n"
        except asyncio.CancelledError:
            cleaned.append("cancelled")
            raise

    client = Client()
    call = asyncio.create_task(EventStream(frames())(client.scope, client.receive, client.send))
    await client.got_body.wait()
    client.left.set()
    await asyncio.wait_for(call, 5)  # ends on its own, not cancelled: the client left
    assert not call.cancelled()
    assert cleaned == ["cancelled"]
    assert client.body == b"data: first\n\n"


async def test_a_send_that_fails_closes_the_frames() -> None:
    closed: list[str] = []

    async def frames() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"data: x\n\n"
        finally:
            closed.append("closed")

    client = Client()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the connection is gone")

    await EventStream(frames())(client.scope, client.receive, send)
    assert closed == ["closed"]


async def test_an_idle_stream_is_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "PING_SECONDS", 0.05)

    async def frames() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        await asyncio.sleep(0.2)
        yield b"data: 2\n\n"

    client = Client()
    await EventStream(frames())(client.scope, client.receive, client.send)
    body = client.body
    assert body.startswith(b"data: 1\n\n") and body.endswith(b"data: 2\n\n")
    assert b": ping\n\n" in body


async def test_head_sends_headers_only_and_never_starts_the_frames() -> None:
    started: list[str] = []

    async def frames() -> AsyncIterator[bytes]:
        started.append("started")
        yield b"data: 1\n\n"

    client = Client("HEAD")
    await EventStream(frames())(client.scope, client.receive, client.send)
    assert client.body == b"" and not started
