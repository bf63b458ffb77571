"""The one SSE helper: typed events in, `text/event-stream` frames out.

Responses streams name each frame (`event: <type>`) and send JSON whose `type` equals that
name; chat streams send bare `data:` frames and end with `data: [DONE]`
(https://html.spec.whatwg.org/multipage/server-sent-events.html). The events produced for one
delta go out together in one write: the client sees them at the same moment either way, and
the server does a third of the sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

DONE = b"data: [DONE]\n\n"
PING_SECONDS = 15.0
_PING: Message = {"type": "http.response.body", "body": b": ping\n\n", "more_body": True}
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}

log = logging.getLogger("lukhas.sse")


def stream_documented(model: type[BaseModel] | dict[str, Any], *, named: bool, data: str,
                      events: dict[str, Any] | None = None,
                      prefix: str = "response.") -> dict[str, Any]:
    """An OpenAPI 200 answer: `model` (a pydantic model, or a schema) as JSON, or
    `text/event-stream` when streamed.

    The stream's `schema` describes one event, `{event, data, id?, retry?}`, as OpenAPI 3.2
    has it (https://spec.openapis.org/oas/v3.2.0.html#server-sent-event-streams): `event` is
    the frame's name (`message` when unnamed), `data` its text: JSON, of the schema `events`
    when given.
    """
    event: dict[str, Any] = (
        {"type": "string", "pattern": "^" + prefix.replace(".", "\\."),
         "description": "The `type` in `data`."}
        if named else {"const": "message", "description": "Frames are not named."})
    text: dict[str, Any] = {"type": "string"}
    if events is not None:
        text.update(contentMediaType="application/json", contentSchema=events)
    frame = {"type": "object", "required": ["event", "data"], "description": data,
             "properties": {"event": event, "data": text}}
    content: dict[str, Any] = {"text/event-stream": {"schema": frame}}
    answer: dict[str, Any] = {"description": "The object; or, streamed, its events."}
    if isinstance(model, dict):
        content = {"application/json": {"schema": model}, **content}
    else:
        answer["model"] = model
    return {**answer, "content": content}


def event_json(payload: Any) -> bytes:
    """One event's JSON (a mapping or a dataclass): a frame's `data`, and a WebSocket message
    as it is."""
    return orjson.dumps(payload)


def named_frames(payloads: Iterable[Any]) -> bytes:
    """Frames named after each event's `type` (typed events, or the JSON objects a log
    kept), joined for one write."""
    return b"".join(
        b"event: " + (p["type"] if isinstance(p, dict) else p.type).encode() + b"\ndata: "
        + event_json(p) + b"\n\n"
        for p in payloads
    )


def data_frame(payload: Mapping[str, Any]) -> bytes:
    """A frame with only a `data:` line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class EventStream(Response):
    """A `text/event-stream` response of ready-made frames.

    Each frame goes out as it is produced, in one write. Beside it one small task waits for
    the client: on `http.disconnect` it cancels the request's task, so a stream waiting on a
    slow pipeline stops at once (the frames' generator sees the cancellation, or is closed
    when it sits at a `yield`, and runs its own cleanup); the cancellation ends here, as the
    normal end of a stream its client left. A server that raises `OSError` on a send to a
    closed connection (ASGI 2.4) ends it the same way. While no frame has gone out for
    `PING_SECONDS`, the task sends a `: ping` comment, which keeps idle proxies from closing
    the connection and which clients ignore.
    """

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[bytes],
                 headers: Mapping[str, str] | None = None) -> None:
        self.frames = frames
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no",
                           "connection": "keep-alive", **(headers or {})})
        self._gone = False
        self._sent_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        frames = self.frames
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        if scope.get("method") == "HEAD":  # headers only; the frames are never produced
            await send(_END)
            await _close(frames)
            return
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        self._sent_at = loop.time()
        watcher = loop.create_task(self._watch(receive, send, task, loop))
        try:
            try:
                async for frame in frames:
                    await send({"type": "http.response.body", "body": frame,
                                "more_body": True})
                    self._sent_at = loop.time()
            finally:
                watcher.cancel()
            await send(_END)
        except asyncio.CancelledError:
            if not self._gone or task.uncancel() > 0:
                raise  # cancelled for another reason (the server stopping): not ours to end
            await _close(frames)
        except OSError:  # the server could not send: the client's connection is gone
            await _close(frames)

    async def _watch(self, receive: Receive, send: Send, task: asyncio.Task[Any],
                     loop: asyncio.AbstractEventLoop) -> None:
        """Wait for the client to leave, and ping while the stream is idle."""
        try:
            while True:
                try:
                    async with asyncio.timeout_at(self._sent_at + PING_SECONDS):
                        message = await receive()
                except TimeoutError:
                    if loop.time() >= self._sent_at + PING_SECONDS:
                        await send(_PING)
                        self._sent_at = loop.time()
                    continue
                if message["type"] == "http.disconnect":
                    break
        except asyncio.CancelledError:
            return  # the stream ended first
        except Exception:  # the connection failed under us: the client is gone as well
            log.debug("SSE client watch ended", exc_info=True)
        self._gone = True
        task.cancel()


async def _close(frames: AsyncIterator[bytes]) -> None:
    """Close the frames' generator, so that its cleanup runs (a no-op when it has ended)."""
    aclose = getattr(frames, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def sse_response(frames: AsyncIterator[bytes]) -> EventStream:
    """Stream `frames`; a `: ping` comment every 15 idle seconds keeps proxies from closing
    it."""
    return EventStream(frames)
