"""The mock's "model": a deterministic answer planned from what the request asked for.

Both API families reduce their request to a `Prompt` and get back a `Plan` (text or refusal or
tool calls, the finish reason and token counts); only the wire shapes differ. Tokens are
whitespace-led words (`re.findall(r"\\s*\\S+")`), so the pieces concatenate back to the text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.utils.upstream.schema import sample
from tests.utils.upstream.state import Rule

_TOKEN = re.compile(r"\s*\S+|\s+$")
REASONING_TOKENS = {"none": 0, "minimal": 0, "low": 8, "medium": 16, "high": 32, "xhigh": 64}


class BadRequest(Exception):
    """A request OpenAI would answer with 400 (or `status`): rendered as an OpenAI error."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None,
                 status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.status = message, param, code, status

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param,
                          "code": self.code}}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return len(text.split())


@dataclass
class Tool:
    name: str
    parameters: dict[str, Any]


@dataclass
class Prompt:
    """What the last turn asks for, whatever the API family."""

    last_role: str  # "user" or "tool"
    text: str  # the last user text, or the tool output
    images: int = 0
    files: int = 0
    parts: list[bytes] = field(default_factory=list)  # serialised turns, for the prefix cache
    part_tokens: list[int] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    tool_choice: Any = "auto"  # "auto" | "none" | "required" | a function name (str in a list)
    parallel_tool_calls: bool = True
    json_mode: str | None = None  # None | "json_object" | "json_schema"
    json_schema: dict[str, Any] | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    reasoning_effort: str | None = None
    seed: int | None = None

    @property
    def prompt_tokens(self) -> int:
        return sum(self.part_tokens) + 3


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class Plan:
    text: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"  # stop | length | tool_calls | content_filter
    prompt_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def pieces(self) -> list[str]:
        return tokens(self.text or self.refusal or "")

    @property
    def completion_tokens(self) -> int:
        body = len(self.pieces) + sum(count_tokens(c.arguments) + 4 for c in self.tool_calls)
        return body + self.reasoning_tokens


def echo(prompt: Prompt) -> str:
    """The default answer: the last user text echoed, or the tool output quoted."""
    if prompt.last_role == "tool":
        return f"Tool result: {prompt.text}"
    seen = []
    if prompt.images:
        seen.append(f"I see {prompt.images} image{'s' if prompt.images > 1 else ''}.")
    if prompt.files:
        seen.append(f"I see {prompt.files} file{'s' if prompt.files > 1 else ''}.")
    return " ".join([*seen, f"Echo: {prompt.text}"])


def _call_id(prompt: Prompt, index: int, name: str) -> str:
    seed = f"{prompt.seed}|{index}|{name}|".encode() + b"".join(prompt.parts)
    return "call_" + hashlib.blake2b(seed, digest_size=12).hexdigest()


def _chosen_tools(prompt: Prompt) -> list[Tool]:
    choice = prompt.tool_choice
    if not prompt.tools or choice == "none":
        return []
    if isinstance(choice, list):  # a named function
        return [t for t in prompt.tools if t.name == choice[0]]
    named = []
    if prompt.last_role == "user":
        hits = [(m.start(), t) for t in prompt.tools
                if (m := re.search(rf"(?<![\w-]){re.escape(t.name)}(?![\w-])", prompt.text))]
        named = [t for _, t in sorted(hits, key=lambda hit: hit[0])]
    if not named and choice == "required":
        named = prompt.tools[:1]
    return named if prompt.parallel_tool_calls else named[:1]


def plan(prompt: Prompt, rule: Rule | None, cached_tokens: int) -> Plan:
    """The answer to `prompt`, shaped by the request's options and the scripted `rule`."""
    out = Plan(prompt_tokens=prompt.prompt_tokens, cached_tokens=cached_tokens,
               reasoning_tokens=REASONING_TOKENS.get(prompt.reasoning_effort or "none", 0))
    if rule is not None and rule.cached_tokens is not None:
        out.cached_tokens = min(rule.cached_tokens, out.prompt_tokens)
    if rule is not None and rule.refusal is not None:
        out.refusal = rule.refusal
        return out
    if rule is not None and rule.tool_calls is not None:
        for i, call in enumerate(rule.tool_calls):
            args = call.get("arguments", {})
            args = args if isinstance(args, str) else orjson.dumps(args).decode()
            out.tool_calls.append(ToolCall(_call_id(prompt, i, call["name"]), call["name"], args))
    else:
        for i, tool in enumerate(_chosen_tools(prompt)):
            args = orjson.dumps(sample(tool.parameters or {"type": "object"}, prompt.text))
            out.tool_calls.append(ToolCall(_call_id(prompt, i, tool.name), tool.name,
                                           args.decode()))
    if out.tool_calls:
        out.finish_reason = "tool_calls"
        return out
    text = rule.reply if rule is not None and rule.reply is not None else echo(prompt)
    if prompt.json_mode == "json_object":
        text = orjson.dumps({"echo": text}).decode()
    elif prompt.json_mode == "json_schema":
        text = orjson.dumps(sample(prompt.json_schema or {}, text)).decode()
    for stop in prompt.stop:
        if stop and stop in text:
            text = text[:text.index(stop)]
    if rule is not None and rule.content_filter:
        pieces = tokens(text)
        text, out.finish_reason = "".join(pieces[:len(pieces) // 2]), "content_filter"
    if prompt.max_tokens is not None:
        pieces = tokens(text)
        if len(pieces) > prompt.max_tokens:
            text, out.finish_reason = "".join(pieces[:prompt.max_tokens]), "length"
    out.text = text
    return out


def logprob_entries(pieces: list[str], top: int) -> list[dict[str, Any]]:
    """Deterministic `ChatCompletionTokenLogprob` entries; the chosen token ranks first."""
    out = []
    for i, token in enumerate(pieces):
        logprob = -round(((i * 7919 + len(token)) % 97) / 100 + 0.001, 4)
        alternatives = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}]
        for j in range(1, top):
            alt = f"{token}{j}"
            alternatives.append({"token": alt, "logprob": round(logprob - j, 4),
                                 "bytes": list(alt.encode())})
        out.append({**alternatives[0], "top_logprobs": alternatives[:top]})
    return out


def split_arguments(arguments: str, size: int = 8) -> list[str]:
    """Tool-call arguments in the small pieces OpenAI streams them in."""
    return [arguments[i:i + size] for i in range(0, len(arguments), size)] or [""]
