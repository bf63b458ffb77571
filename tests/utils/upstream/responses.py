"""`POST /v1/responses`: the Responses API answered natively (openai-python `types/responses/`).

The streamed event order is the one the SDKs' strict `.stream()` helpers check: `created` (empty
output), `in_progress`, then per item `output_item.added`, `content_part.added`, deltas, the
`.done` events, and exactly one terminal `completed` or `incomplete` carrying the full output.
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

_PART_TEXT = {"input_text": "text", "output_text": "text", "refusal": "refusal"}


def _content(content: Any, where: str, prompt: Prompt) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest(f"Invalid type for '{where}': expected a string or an array.", where)
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _PART_TEXT:
            texts.append(str(part.get(_PART_TEXT[kind], "")))
        elif kind == "input_image":
            prompt.images += 1
        elif kind == "input_file":
            prompt.files += 1
        else:
            param = f"{where}[{j}].type"
            raise BadRequest(f"Invalid value for '{param}': {kind!r}.", param)
    return " ".join(texts)


def parse(body: dict[str, Any], previous: dict[str, Any] | None) -> Prompt:
    """The prompt of a Responses request; `previous` is the stored `previous_response_id`."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise BadRequest("Missing required parameter: 'input'.", "input",
                         "missing_required_parameter")
    prompt = Prompt(last_role="user", text="")
    call_ids: set[str] = set()
    if previous is not None:
        prompt.parts, prompt.part_tokens = list(previous["_parts"]), list(previous["_tokens"])
        call_ids = {i["call_id"] for i in previous["output"] if i["type"] == "function_call"}
    if body.get("instructions"):
        prompt.parts.insert(0, orjson.dumps(body["instructions"]))
        prompt.part_tokens.insert(0, count_tokens(str(body["instructions"])) + 3)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]")
        kind = item.get("type", "message")
        text = ""
        if kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                raise BadRequest(f"Invalid value for 'input[{i}].role'.", f"input[{i}].role")
            if item["role"] == "user":
                prompt.images = prompt.files = 0
            text = _content(item.get("content"), f"input[{i}].content", prompt)
            if item["role"] == "user":
                prompt.last_role, prompt.text = "user", text
        elif kind == "function_call":
            call_ids.add(str(item.get("call_id")))
        elif kind == "function_call_output":
            if item.get("call_id") not in call_ids:
                raise BadRequest("No tool call found for function call output with call_id "
                                 f"{item.get('call_id')}.", "input")
            text = str(item.get("output", ""))
            prompt.last_role, prompt.text = "tool", text
        elif kind not in ("reasoning", "item_reference"):
            raise BadRequest(f"Invalid value for 'input[{i}].type': {kind!r}.", f"input[{i}].type")
        prompt.parts.append(orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
        prompt.part_tokens.append(count_tokens(text) + 3 + 85 * prompt.images)
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or tool.get("type") != "function" or not tool.get("name"):
            raise BadRequest(f"Invalid value for 'tools[{i}]': this upstream serves function "
                             "tools only.", f"tools[{i}]")
        prompt.tools.append(Tool(tool["name"], tool.get("parameters") or {"type": "object"}))
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        if choice.get("type") != "function" or choice.get("name") not in {
                t.name for t in prompt.tools}:
            raise BadRequest("Invalid value for 'tool_choice'.", "tool_choice")
        choice = [choice["name"]]
    elif choice not in ("auto", "none", "required"):
        raise BadRequest(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
    prompt.tool_choice = choice
    prompt.parallel_tool_calls = body.get("parallel_tool_calls", True) is not False
    fmt = (body.get("text") or {}).get("format") or {"type": "text"}
    if fmt.get("type") == "json_schema":
        if not fmt.get("name") or not isinstance(fmt.get("schema"), dict):
            raise BadRequest("Missing required parameter: 'text.format.name' or "
                             "'text.format.schema'.", "text.format")
        prompt.json_mode, prompt.json_schema = "json_schema", fmt["schema"]
    elif fmt.get("type") == "json_object":
        prompt.json_mode = "json_object"
    elif fmt.get("type") != "text":
        raise BadRequest("Invalid value for 'text.format.type'.", "text.format.type")
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 16):
        raise BadRequest(f"Invalid 'max_output_tokens': integer below minimum value. Expected a "
                         f"value >= 16, but got {limit!r} instead.", "max_output_tokens",
                         "integer_below_min_value")
    prompt.max_tokens = limit
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None and effort not in REASONING_TOKENS:
        raise BadRequest(f"Invalid value for 'reasoning.effort': {effort!r}.", "reasoning.effort")
    prompt.reasoning_effort = effort
    return prompt


def _logprobs(body: dict[str, Any], plan: Plan) -> list[dict[str, Any]] | None:
    """Each piece's `LogProb` when `include` asks for them (`top_logprobs` alternatives)."""
    include = body.get("include") or []
    if not isinstance(include, list) or any(
            i not in ("message.output_text.logprobs", "reasoning.encrypted_content")
            for i in include):
        raise BadRequest("Invalid value for 'include'.", "include")
    top = body.get("top_logprobs")
    if top is not None and (not isinstance(top, int) or not 0 <= top <= 20):
        raise BadRequest("Invalid 'top_logprobs': expected an integer from 0 to 20.",
                         "top_logprobs")
    if "message.output_text.logprobs" not in include or plan.text is None:
        return None
    return logprob_entries(plan.pieces, top or 0)


def _items(plan: Plan, logprobs: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"id": "fc_" + os.urandom(12).hex(), "type": "function_call", "status": "completed",
         "arguments": c.arguments, "call_id": c.id, "name": c.name} for c in plan.tool_calls]
    if plan.refusal is not None:
        part: dict[str, Any] = {"type": "refusal", "refusal": plan.refusal}
    elif plan.text is not None:
        part = {"type": "output_text", "text": plan.text, "annotations": [],
                "logprobs": logprobs or []}
    else:
        return items
    status = "completed" if plan.finish_reason == "stop" else "incomplete"
    items.append({"id": "msg_" + os.urandom(12).hex(), "type": "message", "status": status,
                  "role": "assistant", "content": [part]})
    return items


def _usage(plan: Plan) -> dict[str, Any]:
    return {"input_tokens": plan.prompt_tokens,
            "input_tokens_details": {"cached_tokens": plan.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": plan.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
            "total_tokens": plan.prompt_tokens + plan.completion_tokens}


def response(body: dict[str, Any], prompt: Prompt, plan: Plan) -> dict[str, Any]:
    """The final `Response` object (stored by the app, without its `_` keys on the wire)."""
    tools = [{"type": "function", "name": t["name"], "description": t.get("description"),
              "parameters": t.get("parameters"), "strict": t.get("strict", True)}
             for t in body.get("tools") or []]
    reason = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(
        plan.finish_reason)
    now = int(time.time())
    logprobs = _logprobs(body, plan)
    return {
        "id": "resp_" + os.urandom(16).hex(), "object": "response", "created_at": now,
        "status": "incomplete" if reason else "completed", "completed_at": None if reason else now,
        "background": False, "error": None,
        "incomplete_details": {"reason": reason} if reason else None,
        "instructions": body.get("instructions"), "max_output_tokens": prompt.max_tokens,
        "max_tool_calls": body.get("max_tool_calls"), "model": body["model"],
        "metadata": body.get("metadata") or {}, "output": _items(plan, logprobs),
        "parallel_tool_calls": prompt.parallel_tool_calls,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"), "prompt_cache_retention": None,
        "reasoning": {"effort": prompt.reasoning_effort, "summary": None},
        "safety_identifier": body.get("safety_identifier"), "service_tier": "default",
        "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"},
                 "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"), "tools": tools,
        "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"), "usage": _usage(plan),
        "user": body.get("user"), "frequency_penalty": 0.0, "presence_penalty": 0.0,
        "_parts": prompt.parts, "_tokens": prompt.part_tokens, "_logprobs": logprobs,
    }


def public(resp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resp.items() if not k.startswith("_")}


def events(resp: dict[str, Any], plan: Plan) -> Iterator[bytes]:
    """The SSE frames of a streamed response: `event: <type>` and `data: <json>`."""
    seq = 0

    def event(kind: str, **data: Any) -> bytes:
        nonlocal seq
        payload = orjson.dumps({"type": kind, "sequence_number": seq, **data})
        seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"

    final = public(resp)
    start = {**final, "status": "in_progress", "output": [], "usage": None,
             "completed_at": None, "incomplete_details": None}
    yield event("response.created", response=start)
    yield event("response.in_progress", response=start)
    for index, item in enumerate(final["output"]):
        ids = {"item_id": item["id"], "output_index": index}
        if item["type"] == "function_call":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "arguments": ""})
            for piece in split_arguments(item["arguments"]):
                yield event("response.function_call_arguments.delta", **ids, delta=piece)
            yield event("response.function_call_arguments.done", **ids, name=item["name"],
                        arguments=item["arguments"])
        else:
            part = item["content"][0]
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "content": []})
            ids["content_index"] = 0
            if part["type"] == "refusal":
                yield event("response.content_part.added", **ids, part={**part, "refusal": ""})
                for piece in plan.pieces:
                    yield event("response.refusal.delta", **ids, delta=piece)
                yield event("response.refusal.done", **ids, refusal=part["refusal"])
            else:
                yield event("response.content_part.added", **ids, part={**part, "text": ""})
                entries = resp["_logprobs"]
                for k, piece in enumerate(plan.pieces):
                    yield event("response.output_text.delta", **ids, delta=piece,
                                logprobs=[] if entries is None else [entries[k]])
                yield event("response.output_text.done", **ids, text=part["text"],
                            logprobs=part["logprobs"])
            yield event("response.content_part.done", **ids, part=part)
        yield event("response.output_item.done", output_index=index, item=item)
    terminal = "response.completed" if final["status"] == "completed" else "response.incomplete"
    yield event(terminal, response=final)


def failed_event(resp: dict[str, Any], seq: int, message: str) -> bytes:
    """The terminal `response.failed` event, numbered after the `seq` events already sent."""
    failed = {**public(resp), "status": "failed", "completed_at": None, "output": [],
              "usage": None, "incomplete_details": None,
              "error": {"code": "server_error", "message": message}}
    payload = {"type": "response.failed", "sequence_number": seq, "response": failed}
    return b"event: response.failed\ndata: " + orjson.dumps(payload) + b"\n\n"
