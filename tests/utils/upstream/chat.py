"""`POST /v1/chat/completions` as OpenAI answers it (openai-python `types/chat/chat_completion*`).

Validation follows OpenAI's own 400s where a gateway could plausibly get them wrong: roles, content
part types, `tool` messages answering an earlier call, `tool_choice` naming a declared tool,
`json_object` needing the word "json", `top_logprobs` needing `logprobs`, `stream_options`
needing `stream`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import orjson

from tests.utils.upstream.generate import (
    REASONING_TOKENS,
    BadRequest,
    Plan,
    Prompt,
    Tool,
    count_tokens,
    logprob_entries,
    split_arguments,
)

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
PART_TYPES = {"text", "image_url", "input_audio", "file", "refusal"}
FINGERPRINT = "fp_mock0001"


def _text_of(content: Any, where: str, counts: dict[str, int]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(f"Invalid type for '{where}': expected a string or an array.", where)
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in PART_TYPES:
            param = f"{where}[{j}].type"
            raise BadRequest(f"Invalid value for '{param}': {kind!r}.", param)
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        elif kind == "image_url":
            if not isinstance(part.get("image_url"), dict) or "url" not in part["image_url"]:
                raise BadRequest(f"Missing required parameter: '{where}[{j}].image_url.url'.",
                                 f"{where}[{j}].image_url.url", "missing_required_parameter")
            counts["images"] += 1
        else:
            counts["files"] += 1
    return " ".join(texts)


def _tools(body: dict[str, Any]) -> list[Tool]:
    out = []
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or tool.get("type") != "function" or not fn.get("name"):
            raise BadRequest(f"Invalid value for 'tools[{i}]': a function tool needs "
                             "type 'function' and function.name.", f"tools[{i}]")
        out.append(Tool(fn["name"], fn.get("parameters") or {"type": "object", "properties": {}}))
    return out


def _tool_choice(body: dict[str, Any], tools: list[Tool]) -> Any:
    choice = body.get("tool_choice")
    if choice is None:
        return "auto"
    if not tools:
        raise BadRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                         "'tools' are specified.", "tool_choice")
    if choice in ("none", "auto", "required"):
        return choice
    fn = choice.get("function") if isinstance(choice, dict) else None
    name = fn.get("name") if isinstance(fn, dict) else None
    if fn is None or choice.get("type") != "function" or name not in {t.name for t in tools}:
        raise BadRequest(f"Invalid value for 'tool_choice': no tool named {name!r}.",
                         "tool_choice")
    return [name]


def _integer(body: dict[str, Any], name: str, low: int, high: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (
            high is not None and value > high):
        raise BadRequest(f"Invalid '{name}': expected an integer from {low}"
                         f"{'' if high is None else f' to {high}'}, got {value!r}.", name)
    return value


def parse(body: dict[str, Any]) -> tuple[Prompt, dict[str, Any]]:
    """The prompt, and the options that shape the wire answer (n, stream, logprobs)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Missing required parameter: 'messages'.", "messages",
                         "missing_required_parameter")
    prompt = Prompt(last_role="user", text="")
    call_ids: set[str] = set()
    last: list[tuple[str, str, dict[str, int]]] = []
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ROLES:
            raise BadRequest(f"Invalid value for 'messages[{i}].role': {role!r}.",
                             f"messages[{i}].role")
        counts = {"images": 0, "files": 0}
        text = _text_of(msg.get("content"), f"messages[{i}].content", counts)
        for call in msg.get("tool_calls") or []:
            call_ids.add(str(call.get("id")))
        if role == "tool" and msg.get("tool_call_id") not in call_ids:
            raise BadRequest("Invalid parameter: messages with role 'tool' must be a response to "
                             "a preceeding message with 'tool_calls'.", f"messages[{i}].role")
        if role in ("user", "tool"):
            last = [*last, (role, text, counts)] if role == "tool" and last and \
                last[-1][0] == "tool" else [(role, text, counts)]
        prompt.parts.append(orjson.dumps(msg, option=orjson.OPT_SORT_KEYS))
        prompt.part_tokens.append(count_tokens(text) + 3 + 85 * counts["images"])
    if last:
        prompt.last_role = last[0][0]
        prompt.text = "; ".join(t for _, t, _ in last)
        prompt.images, prompt.files = last[-1][2]["images"], last[-1][2]["files"]
    prompt.tools = _tools(body)
    prompt.tool_choice = _tool_choice(body, prompt.tools)
    prompt.parallel_tool_calls = body.get("parallel_tool_calls", True) is not False
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        prompt.json_mode = fmt["type"]
        if fmt["type"] == "json_object" and not any(b"json" in p.lower() for p in prompt.parts):
            raise BadRequest("'messages' must contain the word 'json' in some form, to use "
                             "'response_format' of type 'json_object'.", "messages")
        if fmt["type"] == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not spec.get("name"):
                raise BadRequest("Missing required parameter: 'response_format.json_schema.name'.",
                                 "response_format.json_schema.name", "missing_required_parameter")
            prompt.json_schema = spec.get("schema") or {"type": "object"}
    elif fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "text"):
        raise BadRequest("Invalid value for 'response_format.type'.", "response_format.type")
    limit = _integer(body, "max_completion_tokens", 1)
    prompt.max_tokens = limit if limit is not None else _integer(body, "max_tokens", 1)
    stop = body.get("stop")
    prompt.stop = [stop] if isinstance(stop, str) else list(stop or [])
    if len(prompt.stop) > 4:
        raise BadRequest("Invalid 'stop': at most 4 sequences.", "stop")
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in REASONING_TOKENS:
        raise BadRequest(f"Invalid value for 'reasoning_effort': {effort!r}.", "reasoning_effort")
    prompt.reasoning_effort = effort
    prompt.seed = _integer(body, "seed", -(2**63))
    options = {"n": _integer(body, "n", 1, 16) or 1, "stream": body.get("stream") is True,
               "logprobs": body.get("logprobs") is True,
               "top_logprobs": _integer(body, "top_logprobs", 0, 20) or 0,
               "include_usage": False}
    if body.get("top_logprobs") is not None and not options["logprobs"]:
        raise BadRequest("Invalid value for 'top_logprobs': 'logprobs' must be true.",
                         "top_logprobs")
    if body.get("stream_options") is not None:
        if not options["stream"]:
            raise BadRequest("The 'stream_options' parameter is only allowed when 'stream' is "
                             "enabled.", "stream_options")
        options["include_usage"] = bool(body["stream_options"].get("include_usage"))
    return prompt, options


def usage(plan: Plan, n: int) -> dict[str, Any]:
    completion = plan.completion_tokens * n
    return {"prompt_tokens": plan.prompt_tokens, "completion_tokens": completion,
            "total_tokens": plan.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens * n,
                                          "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def _logprobs(plan: Plan, options: dict[str, Any]) -> dict[str, Any] | None:
    if not options["logprobs"]:
        return None
    entries = logprob_entries(plan.pieces, options["top_logprobs"])
    return {"content": entries if plan.text is not None else None,
            "refusal": entries if plan.refusal is not None else None}


def completion(plan: Plan, model: str, options: dict[str, Any]) -> dict[str, Any]:
    """A `ChatCompletion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": plan.text,
                               "refusal": plan.refusal, "annotations": []}
    if plan.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}}
                                 for c in plan.tool_calls]
    choices = [{"index": i, "message": message, "logprobs": _logprobs(plan, options),
                "finish_reason": plan.finish_reason} for i in range(options["n"])]
    return {"id": "chatcmpl-" + os.urandom(12).hex(), "object": "chat.completion",
            "created": int(time.time()), "model": model, "choices": choices,
            "usage": usage(plan, options["n"]), "service_tier": "default",
            "system_fingerprint": FINGERPRINT}


def chunks(plan: Plan, model: str, options: dict[str, Any]) -> Iterator[bytes]:
    """The SSE frames of a streamed completion, ending with `data: [DONE]`."""
    head = {"id": "chatcmpl-" + os.urandom(12).hex(), "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "service_tier": "default",
            "system_fingerprint": FINGERPRINT}
    if options["include_usage"]:
        head["usage"] = None

    def frame(index: int, delta: dict[str, Any], logprobs: Any = None,
              finish: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return b"data: " + orjson.dumps({**head, "choices": [choice]}) + b"\n\n"

    pieces = plan.pieces
    entries = logprob_entries(pieces, options["top_logprobs"]) if options["logprobs"] else None
    key = "refusal" if plan.refusal is not None else "content"
    for index in range(options["n"]):
        first = {"role": "assistant", "content": "" if plan.text is not None else None,
                 "refusal": None}
        yield frame(index, first)
        if not plan.tool_calls:
            for k, piece in enumerate(pieces):
                logprobs = None if entries is None else {key: [entries[k]]}
                yield frame(index, {key: piece}, logprobs)
        for c_index, call in enumerate(plan.tool_calls):
            yield frame(index, {"tool_calls": [{"index": c_index, "id": call.id, "type": "function",
                                                "function": {"name": call.name, "arguments": ""}}]})
            for piece in split_arguments(call.arguments):
                yield frame(index, {"tool_calls": [{"index": c_index,
                                                    "function": {"arguments": piece}}]})
        yield frame(index, {}, None, plan.finish_reason)
    if options["include_usage"]:
        yield b"data: " + orjson.dumps({**head, "choices": [],
                                        "usage": usage(plan, options["n"])}) + b"\n\n"
    yield b"data: [DONE]\n\n"


def error_frame(body: dict[str, Any]) -> bytes:
    """An error inside a stream, as OpenAI sends it (both SDKs raise `APIError` on it)."""
    return b"data: " + orjson.dumps(body) + b"\n\n"
