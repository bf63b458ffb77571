"""An upstream that speaks `/v1/responses` (`api: responses`): the same call, natively.

The request the pipeline prepared (chat-shaped parameters and messages) is turned into a
Responses body: system messages become `instructions`, assistant `tool_calls` become
`function_call` items, `tool` messages `function_call_output` items; parameters map one to
one, and one with no Responses counterpart (`stop`, `seed`, `n`...) is a 400 naming it
before any upstream is called. `store: false`: our own store keeps the conversation.
The answer's events map back to our deltas (`ResponsesReader`).
https://platform.openai.com/docs/api-reference/responses/create
"""

from __future__ import annotations

from typing import Any

import orjson

from app.errors import InvalidRequest
from app.matriz.contract import Event, ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta, Usage
from app.matriz.providers.upstream.reader import Reader, StreamBroken

_SAME = ("temperature", "top_p", "user", "parallel_tool_calls", "top_logprobs", "metadata",
         "presence_penalty", "frequency_penalty", "safety_identifier")
_HANDLED = ("max_tokens", "max_completion_tokens", "response_format", "reasoning_effort",
            "tools", "tool_choice", "logprobs")
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _unsupported(model: str, param: str) -> InvalidRequest:
    return InvalidRequest(f"'{param}' cannot be sent to the upstream serving '{model}', which "
                          "speaks the Responses API.", param=param, code="unsupported_parameter")


def _format(fmt: dict[str, Any]) -> dict[str, Any]:
    if fmt.get("type") == "json_schema":
        return {"type": "json_schema", **(fmt.get("json_schema") or {})}
    return {"type": fmt.get("type", "text")}


def _tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", **(t.get("function") or {})} for t in tools]


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        return {"type": "function", "name": (choice.get("function") or {}).get("name")}
    return choice


def responses_params(params: dict[str, Any], model: str) -> dict[str, Any]:
    """Chat-shaped parameters as Responses fields, or a 400 naming one that has none."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _SAME:
            out[name] = value
        elif name not in _HANDLED:
            raise _unsupported(model, name)
    limit = params.get("max_completion_tokens", params.get("max_tokens"))
    if limit is not None:
        out["max_output_tokens"] = limit
    if "response_format" in params:
        out["text"] = {"format": _format(params["response_format"])}
    if "reasoning_effort" in params:
        out["reasoning"] = {"effort": params["reasoning_effort"]}
    if "tools" in params:
        out["tools"] = _tools(params["tools"])
    if "tool_choice" in params:
        out["tool_choice"] = _tool_choice(params["tool_choice"])
    if params.get("logprobs"):
        out["include"] = ["message.output_text.logprobs"]
    return out


def responses_input(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Chat messages as the instructions and input items of a Responses request."""
    system: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "system":
            system.append(message["content"])
        elif role == "tool":
            items.append({"type": "function_call_output", "call_id": message["tool_call_id"],
                          "output": message["content"]})
        else:
            content = message.get("content")
            if isinstance(content, list):
                items.append({"role": role, "content": [_part(p, role) for p in content]})
            elif content:
                items.append({"role": role, "content": content})
            for call in message.get("tool_calls") or ():
                function = call["function"]
                items.append({"type": "function_call", "call_id": call["id"],
                              "name": function["name"], "arguments": function["arguments"]})
    return ("\n\n".join(system) or None), items


def _part(part: dict[str, Any], role: str) -> dict[str, Any]:
    """A chat content part as a Responses input part (an assistant's text is output text)."""
    kind = part.get("type")
    if kind == "text":
        return {"type": "output_text" if role == "assistant" else "input_text",
                "text": part.get("text", "")}
    if kind == "refusal" and role == "assistant":
        return {"type": "refusal", "refusal": part.get("refusal", "")}
    if kind == "image_url":
        image = part.get("image_url") or {}
        return {"type": "input_image", "image_url": image.get("url"),
                "detail": image.get("detail", "auto")}
    if kind == "file":
        return {"type": "input_file", **(part.get("file") or {})}
    raise InvalidRequest(f"A '{kind}' content part cannot be sent to an upstream speaking the "
                         "Responses API.", param="messages", code="unsupported_content")


class ResponsesReader(Reader):
    """The state of one upstream Responses event stream, as `ChunkReader` is for chat."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[int, int] = {}  # output_index → our call index

    @property
    def complete(self) -> bool:
        """Whether a terminal event arrived."""
        return self.done

    def _event(self, data: bytes, out: list[Event]) -> None:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise StreamBroken("the upstream sent an event that is not JSON") from None
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "response.output_text.delta":
            out.append(TextDelta(event["delta"], event.get("logprobs") or None))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            out.append(ReasoningDelta(event["delta"]))
        elif kind == "response.refusal.delta":
            out.append(RefusalDelta(event["delta"]))
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                index = self._calls.setdefault(event.get("output_index", 0), len(self._calls))
                out.append(ToolCallDelta(index, item.get("call_id"), item.get("name"),
                                         item.get("arguments") or ""))
        elif kind == "response.function_call_arguments.delta":
            found = self._calls.get(event.get("output_index", 0))
            if found is not None:
                out.append(ToolCallDelta(found, None, None, event["delta"]))
        elif kind in ("response.completed", "response.incomplete"):
            self._terminal(event.get("response") or {})
        elif kind in ("response.failed", "error"):
            error = (event.get("response") or {}).get("error") or event
            raise StreamBroken(f"the upstream failed mid-answer: {error.get('message')}")

    def _terminal(self, response: dict[str, Any]) -> None:
        self.done = True
        usage = response.get("usage")
        if usage:
            self.usage = Usage(
                int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0),
                int((usage.get("output_tokens_details") or {}).get("reasoning_tokens") or 0),
                int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0))
        reason = (response.get("incomplete_details") or {}).get("reason")
        if response.get("status") == "incomplete":
            self.finish = _INCOMPLETE.get(reason or "", "length")
        elif self._calls:
            self.finish = "tool_calls"
        else:
            self.finish = "stop"
