"""The one SSE helper: typed events in, `text/event-stream` frames out (sse-starlette).

Responses streams name each frame (`event: <type>`) and send JSON whose `type` equals that
name; chat streams send bare `data:` frames and end with `data: [DONE]`
(https://html.spec.whatwg.org/multipage/server-sent-events.html).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

DONE = ServerSentEvent(data="[DONE]")


def named_event(payload: Mapping[str, Any]) -> ServerSentEvent:
    """A frame named after the payload's `type`."""
    return ServerSentEvent(data=orjson.dumps(payload).decode(), event=str(payload["type"]))


def data_event(payload: Mapping[str, Any]) -> ServerSentEvent:
    """A frame with only a `data:` line."""
    return ServerSentEvent(data=orjson.dumps(payload).decode())


def sse_response(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    """Stream `events`; a `: ping` comment every 15 s keeps idle proxies from closing it."""
    return EventSourceResponse(
        events, ping=15, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
