"""The mock's wire: JSON answers, SSE streams (slowed or cut as scripted), dropped connections."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from tests.utils.upstream.state import Rule, UpstreamState

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Abort(Exception):
    """Raised to make the server drop the connection (uvicorn closes the transport)."""


def error_body(message: str, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}


def response_headers(content_type: bytes,
                     extra: dict[str, str] | None = None) -> list[tuple[bytes, bytes]]:
    request_id = b"req_" + os.urandom(8).hex().encode()
    out = [(b"content-type", content_type), (b"x-request-id", request_id)]
    out += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
    return out


async def send_json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None,
                    rule: Rule | None = None) -> None:
    """A JSON answer; a `die` rule sends half of it and drops the connection."""
    body = orjson.dumps(payload)
    extra = {**(rule.headers if rule else {}), **(headers or {})}
    head = response_headers(b"application/json", extra)
    head.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": head})
    if rule is not None and rule.die_after_chunks is not None:
        await send({"type": "http.response.body", "body": body[:len(body) // 2],
                    "more_body": True})
        raise Abort("scripted: connection dropped mid-body")
    await send({"type": "http.response.body", "body": body})


async def send_stream(io: Exchange, frames: Iterable[bytes], rule: Rule | None,
                      state: UpstreamState, failure: Callable[[int], bytes]) -> None:
    """Send SSE frames; `rule` may slow them down or cut the stream after some of them.

    Cut with `die_mode` "abort" drops the connection, "eof" ends the body cleanly without the
    last frames, "error" sends `failure(frames sent)` (the family's in-stream error) and ends.
    """
    head = response_headers(b"text/event-stream; charset=utf-8",
                             {"cache-control": "no-cache", **(rule.headers if rule else {})})
    await io.send({"type": "http.response.start", "status": 200, "headers": head})
    delay = rule.chunk_delay_ms / 1000 if rule else 0.0
    cut = rule.die_after_chunks if rule else None
    for sent, frame in enumerate(frames):
        if cut is not None and sent >= cut:
            if rule is not None and rule.die_mode in ("eof", "error"):
                last = failure(sent) if rule.die_mode == "error" else b""
                await io.send({"type": "http.response.body", "body": last})
                return
            raise Abort(f"scripted: stream dropped after {cut} chunks")
        if delay and sent and not await io.pause(delay, state.closing):
            return
        await io.send({"type": "http.response.body", "body": frame, "more_body": True})
    await io.send({"type": "http.response.body", "body": b""})


class Exchange:
    """One request's ASGI channels, and whether its client has gone (watched only if asked)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive, self.send = receive, send
        self._gone: asyncio.Future[None] | None = None

    async def _watch(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def pause(self, seconds: float | None, closing: asyncio.Event) -> bool:
        """Sleep `seconds` (None: until something happens); False if the client left meanwhile;
        Abort if the server closes."""
        if self._gone is None:
            self._gone = asyncio.ensure_future(self._watch())
        closed = asyncio.ensure_future(closing.wait())
        waits: set[asyncio.Future[Any]] = {self._gone, closed}
        await asyncio.wait(waits, timeout=seconds,
                           return_when=asyncio.FIRST_COMPLETED)
        closed.cancel()
        if closing.is_set():
            self._gone.cancel()
            raise Abort("server closing")
        return not self._gone.done()

    def close(self) -> None:
        if self._gone is not None:
            self._gone.cancel()
