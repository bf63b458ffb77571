"""Reading one upstream chat-completions stream: chunks → our deltas, usage, finish reason.

The chunks are parsed with orjson as plain dicts (no model per chunk: this is the hot path);
only the fields we pass on are read.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.matriz.contract import Event, ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta, Usage
from app.matriz.providers.upstream.sse import SSEDecoder
from app.matriz.providers.upstream.translate import usage_of

_NONE: dict[str, Any] = {}


class StreamBroken(Exception):
    """The upstream's stream carried an error, or something that is not a chunk."""


class Reader:
    """What the provider reads an upstream stream with: SSE frames in, our deltas out; the
    subclasses read chat chunks or Responses events."""

    __slots__ = ("decoder", "done", "finish", "usage")

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.done = False  # the stream's own end seen (`data: [DONE]` or a terminal event)
        self.finish: str | None = None
        self.usage: Usage | None = None

    @property
    def complete(self) -> bool:
        """Whether the stream ended as a finished answer (not cut off)."""
        raise NotImplementedError

    def feed(self, chunk: bytes, out: list[Event]) -> None:
        """Append the deltas that `chunk` completes to `out`."""
        for data in self.decoder.feed(chunk):
            self._event(data, out)

    def end(self, out: list[Event]) -> None:
        """The body ended: an event left without its blank line still counts."""
        for data in self.decoder.close():
            self._event(data, out)

    def _event(self, data: bytes, out: list[Event]) -> None:
        raise NotImplementedError


class ChunkReader(Reader):
    """The state of one upstream chat-completions stream as its chunks arrive."""

    __slots__ = ()

    @property
    def complete(self) -> bool:
        """Whether the stream ended as a finished answer (not cut off)."""
        return self.done or self.finish is not None

    def whole(self, raw: bytes, out: list[Event]) -> None:
        """A non-streamed `chat.completion` body, read as if it had streamed in one piece."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise StreamBroken("the upstream answered with something that is not JSON") from None
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise StreamBroken("the upstream answered without a choice")
        choice = choices[0]
        message = choice.get("message") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            out.append(ReasoningDelta(reasoning))
        logprobs = choice.get("logprobs") or {}
        if message.get("content"):
            out.append(TextDelta(message["content"], logprobs.get("content")))
        if message.get("refusal"):
            out.append(RefusalDelta(message["refusal"], logprobs.get("refusal")))
        for i, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") or {}
            out.append(ToolCallDelta(i, call.get("id"), function.get("name"),
                                     function.get("arguments") or ""))
        self.finish = choice.get("finish_reason") or "stop"
        if obj.get("usage"):
            self.usage = usage_of(obj["usage"])
        self.done = True

    def _event(self, data: bytes, out: list[Event]) -> None:
        if data == b"[DONE]":
            self.done = True
            return
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise StreamBroken("the upstream sent an event that is not JSON") from None
        if not isinstance(obj, dict):
            raise StreamBroken("the upstream sent an event that is not a chunk")
        error = obj.get("error")
        if error is not None:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise StreamBroken(f"the upstream failed mid-answer: {message}")
        usage = obj.get("usage")
        if usage:
            self.usage = usage_of(usage)
        for choice in obj.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                out.append(ReasoningDelta(reasoning))
            # Each piece carries the logprobs of its own tokens, as the upstream sent them.
            logprobs = choice.get("logprobs") or _NONE
            content = delta.get("content")
            if content or logprobs.get("content"):
                out.append(TextDelta(content or "", logprobs.get("content")))
            refusal = delta.get("refusal")
            if refusal or logprobs.get("refusal"):
                out.append(RefusalDelta(refusal or "", logprobs.get("refusal")))
            for call in delta.get("tool_calls") or ():
                function = call.get("function") or {}
                out.append(ToolCallDelta(int(call.get("index") or 0), call.get("id"),
                                         function.get("name"), function.get("arguments") or ""))
            finish = choice.get("finish_reason")
            if finish:
                self.finish = finish
