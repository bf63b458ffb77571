"""Read each request body here, whole, before anything else sees it: at most
`LUKHAS_MAX_REQUEST_BYTES` (413 `request_too_large`) within `LUKHAS_BODY_TIMEOUT_SECONDS`
(408 `request_timeout`), nested at most `MAX_JSON_DEPTH` deep (400 `json_too_deep`).

The size is checked as the bytes arrive, so a `Transfer-Encoding: chunked` body is held to the
same limit as one that declares its `Content-Length`; a declared length over the limit is
refused before a byte is read. Reading the body here, outside every middleware that reads
ahead (the rate limiter counts its tokens), means the refusal is an answer of ours, never an
exception escaping through someone else's read. Downstream gets the body as one message.

A client that announces more than it sends is answered 408 and the connection closed: its
framing is broken, so the connection cannot carry another request. The server drains what is
left of a refused body (413) for at most its keep-alive timeout, then closes.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge, RequestTimeout, error_response, json_too_deep
from app.json import MAX_DEPTH

# Deeper bodies are refused (400 `json_too_deep`): the same bound as the value check's
# (app/json.py: orjson stops at 254 levels, and no OpenAI request needs a tenth of it).
MAX_JSON_DEPTH = MAX_DEPTH
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


class _TooLarge(Exception):
    pass


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `body`, read as JSON, nests arrays and objects more than `limit` deep.

    Brackets are counted at C speed: a body with fewer of them than the limit (nearly every
    request) costs two `bytes.count`; otherwise strings are cut out and the running depth
    taken with NumPy."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    chars = np.frombuffer(_JSON_STRING.sub(b"", body), dtype=np.uint8)
    steps = ((chars == ord("[")) | (chars == ord("{"))).astype(np.int32)
    steps -= (chars == ord("]")) | (chars == ord("}"))
    return bool(np.cumsum(steps).max() > limit)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared `Content-Length` (None if absent or unreadable) and whether chunked."""
    length: int | None = None
    chunked = False
    for key, value in scope["headers"]:
        if key == b"content-length":
            length = int(value) if value.isdigit() else None
        elif key == b"transfer-encoding":
            chunked = True
    return length, chunked


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body is larger than the limit of {self.max_bytes} bytes.")

    async def _read(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None if the client went away."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge
            if not message.get("more_body", False):
                if not chunks:  # the usual case: the whole body in one message
                    return message
                chunks.append(chunk)
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            chunks.append(chunk)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _framing(scope)
        if (length is None and not chunked) or (length == 0 and not chunked):  # no body
            await self.app(scope, receive, send)
            return
        if length is not None and length > self.max_bytes:
            await error_response(self._too_large())(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                body = await self._read(receive)
        except _TooLarge:
            await error_response(self._too_large())(scope, receive, send)
            return
        except TimeoutError:
            timeout = RequestTimeout(
                f"The request body did not arrive within {self.timeout_s:g} seconds.",
                headers={"connection": "close"},
            )
            await error_response(timeout)(scope, receive, send)
            return
        if body is None:
            return
        if too_deep(body.get("body", b"")):
            await error_response(json_too_deep(MAX_JSON_DEPTH))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            # The body once, then the connection's own messages (a disconnect, for streams).
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return body

        await self.app(scope, replay, send)
