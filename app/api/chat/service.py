"""Chat Completions: the same pipeline, answered as `chat.completion` objects or chunks."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.api.chat.protocol import ChatCompletionRequest, ChatMessage
from app.api.files import AttachedFile, chat_file_parts, read_files
from app.api.protocol import check_output_limit
from app.api.upstream_params import chat_params
from app.core.turns import Turn
from app.errors import APIError, InvalidRequest
from app.identity.base import Identity
from app.ids import new_id
from app.matriz.contract import (
    Logprob,
    ReasoningDelta,
    RefusalDelta,
    RunContext,
    TextDelta,
    ToolCallDelta,
)
from app.matriz.orchestrator import Orchestrator
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.call import UpstreamCall
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.structured import chat_format
from app.matriz.tools.plan import chat_plan
from app.matriz.toolturns import call_turn, output_turn
from app.memory.conversations import ConversationMemory, MemoryWrite
from app.observability.logging import request_id_var
from app.sessions.base import SessionStore
from app.sessions.effects import SessionWrite, check_session_id
from app.sse import DONE, data_frame

log = logging.getLogger("lukhas.chat")

_TEXT_PARTS = ("text", "input_text")


def _text(message: ChatMessage, index: int, media: bool = False,
          files: dict[str, AttachedFile] | None = None,
          read: list[AttachedFile] | None = None) -> str:
    """The message's text; with `media` (a routed model), other parts pass unread; with
    `files` (read by `app.api.files`), its files' texts go to `read`."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    texts = []
    for j, part in enumerate(message.content):
        if part.get("type") in _TEXT_PARTS:
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "file" and files is not None and read is not None:
            read.append(files[f"messages[{index}].content[{j}]"])
        elif not media:
            raise InvalidRequest(
                f"The model reads text and files only; content part '{part.get('type')}' is not "
                "supported.", param=f"messages[{index}].content[{j}]",
                code="unsupported_content",
            )
    return "\n".join(texts)


def _parts(message: ChatMessage) -> tuple[dict[str, Any], ...]:
    """A message's content parts as the upstream gets them, when some are not text (images,
    files, an assistant's refusal); () when its text says it all."""
    content = message.content
    if not isinstance(content, list) or all(p.get("type") in _TEXT_PARTS for p in content):
        return ()
    return tuple({"type": "text", "text": str(p.get("text", ""))}
                 if p.get("type") in _TEXT_PARTS else p for p in content)


def _requested_logprobs(req: ChatCompletionRequest) -> int | None:
    """How many alternatives a token the caller wants logprobs with, else None."""
    if req.top_logprobs is not None and not req.logprobs:
        raise InvalidRequest("'top_logprobs' needs 'logprobs' set to true.",
                             param="top_logprobs", code="invalid_value")
    return (req.top_logprobs or 0) if req.logprobs else None


def _usage(ctx: RunContext) -> dict[str, Any]:
    u = ctx.usage
    return {
        "prompt_tokens": u.input_tokens, "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def _tool_turns(message: ChatMessage, index: int) -> list[Turn]:
    """An assistant message's calls, or a tool message's output, as turns."""
    source = f"message {index + 1}"
    if message.role == "function":
        raise InvalidRequest("'function' messages are not supported; use 'tool' messages.",
                             param=f"messages[{index}].role", code="unsupported_parameter")
    if message.role == "tool":
        if not message.tool_call_id:
            raise InvalidRequest("A 'tool' message needs its 'tool_call_id'.",
                                 param=f"messages[{index}].tool_call_id",
                                 code="missing_required_parameter")
        return [output_turn(message.tool_call_id, _text(message, index), source)]
    turns = [Turn("assistant", _text(message, index, media=True), source, _parts(message))
             ] if message.content else []
    for j, tool_call in enumerate(message.tool_calls or []):
        function = tool_call.get("function") or {}
        if not tool_call.get("id") or not function.get("name"):
            raise InvalidRequest("A tool call needs its 'id' and 'function.name'.",
                                 param=f"messages[{index}].tool_calls[{j}]",
                                 code="invalid_value")
        turns.append(call_turn(str(tool_call["id"]), str(function["name"]),
                               str(function.get("arguments") or ""), source))
    return turns


def _call_delta(delta: ToolCallDelta) -> dict[str, Any]:
    """A tool-call delta in a chunk: id, type and name with its first piece."""
    function: dict[str, Any] = {"arguments": delta.arguments}
    entry: dict[str, Any] = {"index": delta.index, "function": function}
    if delta.call_id is not None:
        entry["id"], entry["type"] = delta.call_id, "function"
    if delta.name is not None:
        function["name"] = delta.name
    return {"tool_calls": [entry]}


class ChatService:
    def __init__(self, orchestrator: Orchestrator, registry: ProviderRegistry,
                 sessions: SessionStore, memory: ConversationMemory | None = None,
                 lane: str = "default", max_file_bytes: int = 2 * 1024 * 1024) -> None:
        self._max_file_bytes = max_file_bytes
        self._memory = memory
        self._lane = lane
        self._orchestrator = orchestrator
        self._registry = registry
        self._sessions = sessions

    async def _files(self, req: ChatCompletionRequest) -> dict[str, AttachedFile] | None:
        """The messages' files read as text, for a built-in model (a routed one is sent them)."""
        _, provider = self._registry.resolve(req.model)
        if isinstance(provider, UpstreamProvider):
            return None
        return await read_files(chat_file_parts(req), self._max_file_bytes)

    def _context(self, identity: Identity, req: ChatCompletionRequest,
                 session_id: str | None, completion_id: str,
                 answer: Callable[[], str],
                 files: dict[str, AttachedFile] | None = None) -> RunContext:
        card, provider = self._registry.resolve(req.model)
        call: UpstreamCall | None = None
        if isinstance(provider, UpstreamProvider):
            call = provider.begin(identity, req.model, request_id_var.get() or completion_id)
            call.params = chat_params(req, call.group)
            call.stream = bool(req.stream)
        else:
            self._check_builtin(req, card.context_window)
        system: list[str] = []
        turns: list[Turn] = []
        attached: list[Turn] = []
        for i, message in enumerate(req.messages):
            if message.role in ("tool", "function") or message.tool_calls:
                turns += _tool_turns(message, i)
                continue
            # A routed model gets every user and assistant message's images and files, in
            # their place; system messages join the instructions, which carry text only. The
            # built-in model reads files as text (`files`).
            media = call is not None and message.role in ("user", "assistant")
            read: list[AttachedFile] = []
            text = _text(message, i, media=media, files=files, read=read)
            attached = [Turn("user", f.text, f.name, file=f.name) for f in read]
            if message.role in ("system", "developer"):
                system.append(text)
            elif message.role in ("user", "assistant"):
                turns += [*attached, Turn(message.role, text, f"message {i + 1}",
                                          _parts(message) if media else ())]
        asked = bool(turns) and turns[-1].role == "user"
        last = turns.pop() if asked else None
        question = last.text if last is not None else ""
        if call is not None and last is not None and last.parts:
            call.question_parts = list(last.parts)
        elif not question.strip() and not turns:
            raise InvalidRequest("'messages' must contain a non-empty user message.",
                                 param="messages", code="empty_input")
        ctx = RunContext(
            identity=identity, model=req.model, question=question, history=turns,
            instructions="\n\n".join(system) or None,
            max_output_tokens=req.max_completion_tokens or req.max_tokens,
            session_id=check_session_id(session_id), upstream=call,
            top_logprobs=_requested_logprobs(req),
            attachments=attached if asked else [], ref=completion_id,
        )
        if call is not None:
            ctx.recall = call.group.memory.recall
            ctx.recall_max_tokens = call.group.memory.max_tokens
        else:  # the built-in model calls function tools and writes JSON itself
            ctx.tools = chat_plan(req.model, req.tools, req.tool_choice,
                                  getattr(req, "parallel_tool_calls", None))
            ctx.output_format = chat_format(req.response_format)
        # Chat keeps the caller's words only when asked to (`store: true`; OpenAI's default
        # for chat completions is not to store).
        if self._memory is not None and req.store:
            ctx.requested_effects.append(
                MemoryWrite(self._memory, identity.subject, ctx.question, self._lane))
        # With a session, the messages continue its working memory, and the answer extends it.
        if ctx.session_id is not None:
            ctx.requested_effects.append(SessionWrite(
                self._sessions, ctx, answer, completion_id, lambda: ctx.session_id))
        return ctx

    @staticmethod
    def _check_builtin(req: ChatCompletionRequest, context_window: int) -> None:
        check_output_limit(req.max_tokens, context_window, "max_tokens")
        check_output_limit(req.max_completion_tokens, context_window,
                           "max_completion_tokens")
        if (req.n or 1) != 1:
            raise InvalidRequest("Only n=1 is supported.", param="n")
        for legacy in ("functions", "function_call"):  # replaced by tools
            if getattr(req, legacy, None) is not None:
                raise InvalidRequest(f"'{legacy}' is not supported; use 'tools'.",
                                     param=legacy, code="unsupported_parameter")

    async def create(self, identity: Identity, req: ChatCompletionRequest,
                     session_id: str | None = None) -> dict[str, Any]:
        """Run the pipeline and return a `chat.completion`."""
        completion_id = new_id("chatcmpl-")
        parts: list[str] = []
        refusals: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        files = await self._files(req)
        ctx = self._context(identity, req, session_id, completion_id, lambda: "".join(parts),
                            files)
        text_logprobs: list[Logprob] = []
        refusal_logprobs: list[Logprob] = []
        async for event in self._orchestrator.run(ctx):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                text_logprobs += event.logprobs or ()
            elif isinstance(event, RefusalDelta):
                refusals.append(event.text)
                refusal_logprobs += event.logprobs or ()
            elif isinstance(event, ToolCallDelta):
                found = calls.setdefault(event.index, {
                    "id": event.call_id or new_id("call_"), "type": "function",
                    "function": {"name": event.name or "", "arguments": ""}})
                found["function"]["arguments"] += event.arguments
        text = "".join(parts)
        refusal = "".join(refusals) or None
        logprobs = None
        if ctx.top_logprobs is not None:
            logprobs = {"content": None if refusal and not text else text_logprobs,
                        "refusal": refusal_logprobs if refusal else None}
        message: dict[str, Any] = {
            "role": "assistant", "content": None if not text and (calls or refusal) else text,
            "refusal": refusal}
        if calls:
            message["tool_calls"] = list(calls.values())
        return {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": req.model, "system_fingerprint": None,
            "choices": [{
                "index": 0, "finish_reason": ctx.finish_reason,
                "logprobs": logprobs,
                "message": message,
            }],
            "usage": _usage(ctx),
        }

    async def stream(
        self, identity: Identity, req: ChatCompletionRequest, session_id: str | None = None
    ) -> AsyncIterator[bytes]:
        """Start the run (errors before the first delta are plain HTTP errors), then chunks."""
        completion_id = new_id("chatcmpl-")
        parts: list[str] = []
        files = await self._files(req)
        ctx = self._context(identity, req, session_id, completion_id, lambda: "".join(parts),
                            files)
        events, first = await self._orchestrator.start(ctx)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        base = {"id": completion_id, "object": "chat.completion.chunk",
                "created": int(time.time()), "model": req.model, "system_fingerprint": None}
        if include_usage:
            base["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None,
                  logprobs: dict[str, Any] | None = None) -> bytes:
            return data_frame({**base, "choices": [
                {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]})

        # With logprobs asked for, each piece of text or refusal carries its tokens' own.
        asked = ctx.top_logprobs is not None

        async def frames() -> AsyncIterator[bytes]:
            try:
                # `role` goes in the first delta only: the SDK concatenates repeated strings.
                yield chunk({"role": "assistant", "content": ""})
                pending = first
                while pending is not None:
                    if isinstance(pending, ToolCallDelta):
                        yield chunk(_call_delta(pending))
                    elif isinstance(pending, RefusalDelta):
                        yield chunk({"refusal": pending.text}, None, {
                            "content": None, "refusal": pending.logprobs or []} if asked
                            else None)
                    elif not isinstance(pending, ReasoningDelta):
                        parts.append(pending.text)
                        yield chunk({"content": pending.text}, None, {
                            "content": pending.logprobs or [], "refusal": None} if asked
                            else None)
                    pending = await anext(events, None)
                yield chunk({}, ctx.finish_reason)
                if include_usage:
                    yield data_frame({**base, "choices": [], "usage": _usage(ctx)})
            except Exception as exc:
                # After the first chunk an error can only be the stream's last frame; it is
                # logged as a response stream's is.
                log.exception("chat completion stream failed",
                              extra={"completion_id": completion_id})
                error = exc if isinstance(exc, APIError) else APIError(
                    "The server had an error.")
                yield data_frame(error.body())
            finally:
                await events.aclose()
            yield DONE

        return frames()
