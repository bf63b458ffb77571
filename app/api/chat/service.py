"""Chat Completions: the same pipeline, answered as `chat.completion` objects or chunks."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from app.api.chat.protocol import ChatCompletionRequest, ChatMessage
from app.api.files import AttachedFile, chat_file_parts
from app.api.protocol import check_output_limit
from app.api.runs import (
    Content,
    Flattener,
    builtin_files,
    deliver,
    drain,
    equip,
    read_content,
    upstream_call,
)
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
from app.matriz.structured import chat_format
from app.matriz.tools.plan import chat_plan
from app.matriz.toolturns import call_turn, output_turn
from app.memory.conversations import ConversationMemory, MemoryWrite
from app.sessions.base import SessionStore
from app.sessions.effects import SessionWrite, check_session_id
from app.sse import DONE, data_frame

log = logging.getLogger("lukhas.chat")

_TEXT_PARTS = ("text", "input_text")
# A routed model gets the images and files of these messages; system messages join the
# instructions, which carry text only.
_MEDIA_ROLES = ("user", "assistant")


class _Parts:
    """Chat's content parts (dicts) as `read_content` reads them."""

    @staticmethod
    def text(part: dict[str, Any]) -> str | None:
        return str(part.get("text", "")) if part.get("type") in _TEXT_PARTS else None

    @staticmethod
    def is_file(part: dict[str, Any]) -> bool:
        return part.get("type") == "file"

    @staticmethod
    def kind(part: dict[str, Any]) -> str:
        return str(part.get("type"))

    @staticmethod
    def chat_part(part: dict[str, Any], where: str) -> dict[str, Any]:
        return part  # already in the chat shape


def _content(message: ChatMessage, index: int, media: bool = False,
             files: dict[str, AttachedFile] | None = None) -> Content:
    """The message's content read (`app.api.runs.read_content`)."""
    return read_content(message.content, f"messages[{index}].content", _Parts(),
                        role=message.role, media=media, media_roles=_MEDIA_ROLES, files=files)


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
        return [output_turn(message.tool_call_id, _content(message, index).text, source)]
    content = _content(message, index, media=True)
    turns = [Turn("assistant", content.text, source, content.parts)] if message.content else []
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


class _Answer:
    """A completion's answer as its deltas arrive (`DeltaSink`)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.refusals: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.text_logprobs: list[Logprob] = []
        self.refusal_logprobs: list[Logprob] = []

    def text(self) -> str:
        return "".join(self.parts)

    def on_text(self, delta: TextDelta) -> None:
        self.parts.append(delta.text)
        self.text_logprobs += delta.logprobs or ()

    def on_refusal(self, delta: RefusalDelta) -> None:
        self.refusals.append(delta.text)
        self.refusal_logprobs += delta.logprobs or ()

    def on_tool_call(self, delta: ToolCallDelta) -> None:
        found = self.calls.setdefault(delta.index, {
            "id": delta.call_id or new_id("call_"), "type": "function",
            "function": {"name": delta.name or "", "arguments": ""}})
        found["function"]["arguments"] += delta.arguments

    def on_reasoning(self, delta: ReasoningDelta) -> None:
        """Chat completions carry no reasoning summary."""


class _Chunks:
    """A streamed completion's chunks, one per delta (`DeltaSink`); the answer's text is
    kept in `parts` as it goes, for the session."""

    def __init__(self, base: dict[str, Any], parts: list[str], logprobs: bool) -> None:
        self._base = base
        self._parts = parts
        self._logprobs = logprobs  # each piece carries its tokens' own

    def chunk(self, delta: dict[str, Any], finish: str | None = None,
              logprobs: dict[str, Any] | None = None) -> bytes:
        return data_frame({**self._base, "choices": [
            {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]})

    def on_text(self, delta: TextDelta) -> bytes:
        self._parts.append(delta.text)
        return self.chunk({"content": delta.text}, None, {
            "content": delta.logprobs or [], "refusal": None} if self._logprobs else None)

    def on_refusal(self, delta: RefusalDelta) -> bytes:
        return self.chunk({"refusal": delta.text}, None, {
            "content": None, "refusal": delta.logprobs or []} if self._logprobs else None)

    def on_tool_call(self, delta: ToolCallDelta) -> bytes:
        return self.chunk(_call_delta(delta))

    def on_reasoning(self, delta: ReasoningDelta) -> None:
        """Chat completions carry no reasoning summary."""


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

    def _context(self, identity: Identity, req: ChatCompletionRequest,
                 session_id: str | None, completion_id: str,
                 answer: Callable[[], str],
                 files: dict[str, AttachedFile] | None = None) -> RunContext:
        card, call = upstream_call(self._registry, identity, req.model, lambda: completion_id)
        if call is not None:
            call.params = chat_params(req, call.group)
            call.stream = bool(req.stream)
        else:
            self._check_builtin(req, card.context_window)
        flat = Flattener()
        for i, message in enumerate(req.messages):
            if message.role in ("tool", "function") or message.tool_calls:
                for turn in _tool_turns(message, i):
                    flat.turn(turn)
            else:
                flat.message(message.role, _content(message, i, call is not None, files),
                             f"message {i + 1}")
        conversation = flat.done()
        if call is not None and conversation.question_parts:
            call.question_parts = conversation.question_parts
        elif not conversation.question.strip() and not conversation.history:
            raise InvalidRequest("'messages' must contain a non-empty user message.",
                                 param="messages", code="empty_input")
        ctx = RunContext(
            identity=identity, model=req.model, question=conversation.question,
            history=conversation.history,
            instructions="\n\n".join(conversation.system) or None,
            max_output_tokens=req.max_completion_tokens or req.max_tokens,
            session_id=check_session_id(session_id), upstream=call,
            top_logprobs=_requested_logprobs(req),
            attachments=conversation.attachments, ref=completion_id,
        )
        equip(ctx, call, lambda: (
            chat_plan(req.model, req.tools, req.tool_choice,
                      getattr(req, "parallel_tool_calls", None)),
            chat_format(req.response_format)))
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
        answer = _Answer()
        files = await builtin_files(self._registry, req.model, chat_file_parts(req),
                                    self._max_file_bytes)
        ctx = self._context(identity, req, session_id, completion_id, answer.text, files)
        ctx.streamed = False
        await drain(self._orchestrator.run(ctx), answer)
        text = answer.text()
        refusal = "".join(answer.refusals) or None
        logprobs = None
        if ctx.top_logprobs is not None:
            logprobs = {"content": None if refusal and not text else answer.text_logprobs,
                        "refusal": answer.refusal_logprobs if refusal else None}
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if not text and (answer.calls or refusal) else text,
            "refusal": refusal}
        if answer.calls:
            message["tool_calls"] = list(answer.calls.values())
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
        files = await builtin_files(self._registry, req.model, chat_file_parts(req),
                                    self._max_file_bytes)
        ctx = self._context(identity, req, session_id, completion_id, lambda: "".join(parts),
                            files)
        events, first = await self._orchestrator.start(ctx)
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        base = {"id": completion_id, "object": "chat.completion.chunk",
                "created": int(time.time()), "model": req.model, "system_fingerprint": None}
        if include_usage:
            base["usage"] = None

        # With logprobs asked for, each piece of text or refusal carries its tokens' own.
        chunks = _Chunks(base, parts, ctx.top_logprobs is not None)

        async def frames() -> AsyncIterator[bytes]:
            try:
                # `role` goes in the first delta only: the SDK concatenates repeated strings.
                yield chunks.chunk({"role": "assistant", "content": ""})
                pending = first
                while pending is not None:
                    if (frame := deliver(pending, chunks)) is not None:
                        yield frame
                    pending = await anext(events, None)
                yield chunks.chunk({}, ctx.finish_reason)
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
