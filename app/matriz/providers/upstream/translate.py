"""Our requests → an upstream's chat-completions body, and its usage back.

Responses fields are translated one by one; a field with no translation is a 400 naming
it (never dropped). Chat requests pass through: the caller's parameters go to the upstream
as given, except those the pipeline owns (`model`, `messages`, `stream`, `stream_options`,
`store`, `n`); tools go through as given.
https://platform.openai.com/docs/api-reference/responses/create,
https://platform.openai.com/docs/api-reference/chat/create
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.api.chat.protocol import ChatCompletionRequest
from app.api.responses.convert import requested_logprobs
from app.api.responses.protocol import ResponseCreateRequest
from app.core.turns import Turn, is_recalled
from app.errors import InvalidRequest
from app.matriz.contract import Usage
from app.matriz.retrieval import SEARCHED, Source, sources_message
from app.matriz.toolturns import CALL, OUTPUT, fields
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


def recalled_message(turns: Sequence[Turn]) -> str:
    """Long-term memory, as the system message the upstream reads."""
    lines = "\n".join(f"- {t.text}" for t in turns)
    return ("What the user said in earlier conversations (long-term memory; use it only "
            f"where it helps):\n{lines}")


def messages(instructions: str | None, history: Sequence[Turn], question: str,
             question_parts: list[dict[str, Any]] | None = None,
             sources: Sequence[Source] | None = None) -> list[dict[str, Any]]:
    """The conversation as chat messages: instructions, recalled memory, what the chain's
    earlier file searches found, this one's sources, turns, question. System messages come
    first only: many chat templates refuse one between turns."""
    out: list[dict[str, Any]] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    recalled = [t for t in history if is_recalled(t)]
    if recalled:
        out.append({"role": "system", "content": recalled_message(recalled)})
    searched = [t.text for t in history if t.role == SEARCHED]
    if searched:
        out.append({"role": "system", "content": "\n\n".join(searched)})
    if sources is not None:
        out.append({"role": "system", "content": sources_message(sources)})
    for turn in history:
        if turn.role == SEARCHED:
            continue
        if turn.role == CALL:
            call = fields(turn)
            entry = {"id": call["call_id"], "type": "function",
                     "function": {"name": call["name"], "arguments": call["arguments"]}}
            if out and out[-1]["role"] == "assistant":
                out[-1].setdefault("tool_calls", []).append(entry)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [entry]})
        elif turn.role == OUTPUT:
            result = fields(turn)
            output = result["output"]
            out.append({"role": "tool", "tool_call_id": result["call_id"],
                        "content": output if isinstance(output, str)
                        else _output_parts(output)})
        elif not is_recalled(turn):
            out.append({"role": turn.role, "content": list(turn.parts) or turn.text})
    if question_parts:
        out.append({"role": "user", "content": question_parts})
    elif question:
        out.append({"role": "user", "content": question})
    return out


def _output_parts(output: list[Any]) -> str:
    """A function output given as content parts: its text parts, joined (other parts are
    a 400: a chat `tool` message carries text only)."""
    texts = []
    for part in output:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in ("input_text", "output_text", "text"):
            raise InvalidRequest(f"A function_call_output may hold only text parts for this "
                                 f"model, not '{kind}'.", param="input",
                                 code="unsupported_content")
        texts.append(str(part.get("text", "")))
    return "".join(texts)


def usage_of(raw: dict[str, Any]) -> Usage:
    """Chat-completions usage (with its details when given) as ours."""
    prompt = raw.get("prompt_tokens_details") or {}
    completion = raw.get("completion_tokens_details") or {}
    return Usage(int(raw.get("prompt_tokens") or 0),
                         int(raw.get("completion_tokens") or 0),
                         int(completion.get("reasoning_tokens") or 0),
                         int(prompt.get("cached_tokens") or 0))
