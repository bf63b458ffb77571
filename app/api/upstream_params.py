"""Our requests → the parameters of an upstream's chat-completions body.

Responses fields are translated one by one; a field with no translation is a 400 naming
it (never dropped). Chat requests pass through: the caller's parameters go to the upstream
as given, except those the pipeline owns (`model`, `messages`, `stream`, `stream_options`,
`store`, `n`); tools go through as given. The messages themselves come from the pipeline's
turns (app/matriz/providers/upstream/translate.py).
https://platform.openai.com/docs/api-reference/responses/create,
https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from typing import Any

from app.api.chat.protocol import ChatCompletionRequest
from app.api.responses.convert import requested_logprobs
from app.api.responses.protocol import ResponseCreateRequest
from app.errors import InvalidRequest
from app.routing.config import Group

# Not in the Responses API, but what callers of chat-completions servers send through it.
_RESPONSES_EXTRAS = ("stop", "seed")
_CHAT_OWN = ("model", "messages", "stream", "stream_options", "store", "n")
_CHAT_LEGACY = ("functions", "function_call")  # replaced by tools; not forwarded


def _unsupported(model: str, param: str, what: str = "") -> InvalidRequest:
    return InvalidRequest(f"'{param}' is not supported for the model '{model}'{what}.",
                          param=param, code="unsupported_parameter")


def _check_output(limit: int | None, group: Group, param: str) -> None:
    if limit is not None and limit > group.max_output_tokens:
        raise InvalidRequest(f"'{param}' may be at most {group.max_output_tokens} for this "
                             "model.", param=param, code="invalid_value")


def _text_format(req: ResponseCreateRequest) -> dict[str, Any] | None:
    text = req.text or {}
    for key in text:
        if key != "format":
            raise _unsupported(req.model, f"text.{key}")
    fmt = text.get("format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        assert isinstance(fmt, dict)
        if not fmt.get("name") or not isinstance(fmt.get("schema"), dict):
            raise InvalidRequest("'text.format' of type 'json_schema' needs a 'name' and a "
                                 "'schema'.", param="text.format", code="invalid_value")
        spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": spec}
    raise InvalidRequest(f"Invalid value for 'text.format.type': {kind!r}.",
                         param="text.format.type", code="invalid_value")


def _tools(req: ResponseCreateRequest) -> dict[str, Any]:
    """Function tools, `tool_choice` and `parallel_tool_calls` in the chat shape. A
    file_search tool is the façade's own: it searched before the call (its sources are in
    the messages), which is also what a choice of it, or of "required", asks for."""
    params: dict[str, Any] = {}
    tools = []
    searches = False
    for i, tool in enumerate(req.tools or []):
        if tool.get("type") == "file_search":
            searches = True
            continue
        if tool.get("type") != "function" or not tool.get("name"):
            raise _unsupported(req.model, f"tools[{i}]",
                               f" (tools of type '{tool.get('type')}')")
        function = {k: tool[k] for k in ("name", "description", "parameters", "strict")
                    if tool.get(k) is not None}
        tools.append({"type": "function", "function": function})
    if tools:
        params["tools"] = tools
    choice = req.tool_choice
    if searches and (choice == {"type": "file_search"} or (choice == "required" and not tools)):
        choice = None
    if isinstance(choice, dict):
        if choice.get("type") != "function" or not choice.get("name"):
            raise _unsupported(req.model, "tool_choice", f" (type '{choice.get('type')}')")
        params["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif choice is not None and (tools or choice != "auto"):
        params["tool_choice"] = choice
    if req.parallel_tool_calls is not None and tools:
        params["parallel_tool_calls"] = req.parallel_tool_calls
    return params


def responses_params(req: ResponseCreateRequest, group: Group) -> dict[str, Any]:
    """The upstream parameters of a Responses request, or a 400 naming what cannot go."""
    model = req.model
    params: dict[str, Any] = _tools(req)
    extra = req.model_extra or {}
    for name, value in extra.items():
        if name in _RESPONSES_EXTRAS:
            params[name] = value
        else:
            raise _unsupported(model, name)
    _check_output(req.max_output_tokens, group, "max_output_tokens")
    if req.max_output_tokens is not None:
        params["max_tokens"] = req.max_output_tokens
    if req.temperature is not None:
        params["temperature"] = req.temperature
    if req.top_p is not None:
        params["top_p"] = req.top_p
    if req.user is not None:
        params["user"] = req.user
    for name in ("presence_penalty", "frequency_penalty", "safety_identifier"):
        if (value := getattr(req, name)) is not None:  # the same in the chat shape
            params[name] = value
    # No routed group has a prompt cache to key, and chat completions has no tool call limit.
    for name in ("prompt_cache_key", "max_tool_calls"):
        if getattr(req, name) is not None:
            raise _unsupported(model, name)
    fmt = _text_format(req)
    if fmt is not None:
        params["response_format"] = fmt
    reasoning = req.reasoning or {}
    for key, value in reasoning.items():
        if key == "effort" and value is not None:
            params["reasoning_effort"] = value
        elif key not in ("effort", "summary"):
            raise _unsupported(model, f"reasoning.{key}")
    top_logprobs = requested_logprobs(req)
    if top_logprobs is not None:
        params["logprobs"] = True
        if top_logprobs:
            params["top_logprobs"] = top_logprobs
    return params


def chat_params(req: ChatCompletionRequest, group: Group) -> dict[str, Any]:
    """The caller's chat parameters as the upstream gets them, or a 400 naming one it can't."""
    for name in _CHAT_LEGACY:
        if getattr(req, name, None) is not None:
            raise _unsupported(req.model, name, "; use 'tools'")
    if (req.n or 1) != 1:
        raise InvalidRequest("Only n=1 is supported.", param="n")
    _check_output(req.max_tokens, group, "max_tokens")
    _check_output(req.max_completion_tokens, group, "max_completion_tokens")
    body = req.model_dump(exclude_none=True)
    for name in _CHAT_OWN:
        body.pop(name, None)
    return body
