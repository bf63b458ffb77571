"""The one SSE helper: typed events in, `text/event-stream` frames out (sse-starlette).

Responses streams name each frame (`event: <type>`) and send JSON whose `type` equals that
name; chat streams send bare `data:` frames and end with `data: [DONE]`
(https://html.spec.whatwg.org/multipage/server-sent-events.html). The events produced for one
delta go out together in one write: the client sees them at the same moment either way, and
the server does a third of the sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

DONE = b"data: [DONE]\n\n"


def stream_documented(model: type[BaseModel] | dict[str, Any], *, named: bool, data: str,
                      events: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI 200 answer: `model` (a pydantic model, or a schema) as JSON, or
    `text/event-stream` when streamed.

    The stream's `schema` describes one event, `{event, data, id?, retry?}`, as OpenAPI 3.2
    has it (https://spec.openapis.org/oas/v3.2.0.html#server-sent-event-streams): `event` is
    the frame's name (`message` when unnamed), `data` its text: JSON, of the schema `events`
    when given.
    """
    event: dict[str, Any] = (
        {"type": "string", "pattern": "^response\\.", "description": "The `type` in `data`."}
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
    """Frames named after each event's `type` (typed events: dataclasses), joined for one
    write."""
    return b"".join(
        b"event: " + p.type.encode() + b"\ndata: " + event_json(p) + b"\n\n"
        for p in payloads
    )


def data_frame(payload: Mapping[str, Any]) -> bytes:
    """A frame with only a `data:` line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def sse_response(frames: AsyncIterator[bytes]) -> EventSourceResponse:
    """Stream `frames`; a `: ping` comment every 15 s keeps idle proxies from closing it."""
    return EventSourceResponse(
        frames, ping=15, sep="\n",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
