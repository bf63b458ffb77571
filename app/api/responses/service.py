"""The Responses service: one pipeline run per create; stored responses by owner."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from app.api.conversations.service import check_item_ids, conversation_of
from app.api.files import AttachedFile, read_files, responses_file_parts
from app.api.listing import list_page
from app.api.protocol import check_output_limit
from app.api.responses import file_search
from app.api.responses.compact import expand_input
from app.api.responses.convert import (
    ConvertedInput,
    convert_input,
    requested_logprobs,
    stored_source,
)
from app.api.responses.events import OutputBuilder, StreamEncoder, usage_object
from app.api.responses.protocol import InputItemsQuery, ResponseCreateRequest
from app.db.repositories import responses as repo
from app.errors import APIError, InvalidRequest, NotFound
from app.identity.base import Identity
from app.ids import new_id
from app.matriz.contract import Event, ReasoningDelta, RefusalDelta, RunContext, ToolCallDelta
from app.matriz.nodes import Turn
from app.matriz.orchestrator import Orchestrator
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.call import UpstreamCall
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.providers.upstream.translate import responses_params
from app.matriz.retrieval import FileSearch, found_turn
from app.matriz.toolturns import call_turn
from app.memory.compaction import WindowSeal
from app.memory.conversations import ConversationMemory, memory_writer
from app.memory.threads import conversation_writer
from app.observability.logging import request_id_var
from app.sessions.base import SessionStore
from app.sessions.effects import check_session_id, session_writer
from app.sse import named_frames

log = logging.getLogger("lukhas.responses")

_STATUS = {"stop": "completed", "tool_calls": "completed", "length": "incomplete",
           "content_filter": "incomplete"}
_INCOMPLETE_REASON = {"length": "max_output_tokens", "content_filter": "content_filter"}
# How long an abandoned stream may take to store what it had (and to close its run).
_ABANDON_CLEANUP_S = 10.0

StoreFinal = Callable[[dict[str, Any], bool], Awaitable[None]]
Payload = dict[str, Any]


@dataclass(slots=True)
class ResponseStream:
    """A started streamed run: its events, in the batches produced together (what one delta
    gave), and the session it joined; once the events have ended, the response as it ended
    (None if the client left first)."""

    response_id: str
    session_id: str | None
    chain: list[Turn]  # the conversation it continues (`previous_response_id`'s turns)
    converted: ConvertedInput
    search: FileSearch | None  # the request's file search, whose finds the chain keeps
    events: AsyncGenerator[list[Payload], None] = field(init=False)
    final: dict[str, Any] | None = None

    def conversation(self) -> list[Turn]:
        """The conversation a `previous_response_id` naming this response reads: the chain
        it continued, then its own input and answer."""
        own = [] if self.final is None else _turns(self.converted, self.final, self.search)
        return [*self.chain, *(Turn(t["role"], t["text"], t["source"],
                                    tuple(t.get("parts") or ()), file=t.get("file"))
                               for t in own)]


class ResponsesService:
    def __init__(self, pool: Any, orchestrator: Orchestrator, registry: ProviderRegistry,
                 sessions: SessionStore, memory: ConversationMemory | None = None,
                 lane: str = "default", windows: WindowSeal | None = None,
                 max_file_bytes: int = 2 * 1024 * 1024) -> None:
        self._max_file_bytes = max_file_bytes
        self._memory = memory
        self._windows = windows  # opens the compaction items of an input
        self._lane = lane
        self._pool = pool
        self._orchestrator = orchestrator
        self._registry = registry
        self._sessions = sessions

    # -- create -----------------------------------------------------------------------

    def _check_supported(self, req: ResponseCreateRequest) -> None:
        if req.background:
            raise InvalidRequest("Background mode is not supported.", param="background")
        fmt = (req.text or {}).get("format")
        if fmt is None:
            fmt = {"type": "text"}
        if not isinstance(fmt, dict):
            raise InvalidRequest("'text.format' must be an object such as {\"type\": \"text\"}.",
                                 param="text.format")
        if fmt.get("type") != "text":
            raise InvalidRequest(
                f"The model '{req.model}' produces plain text; text.format "
                f"'{fmt.get('type')}' is not supported.", param="text.format",
            )

    async def _files(self, req: ResponseCreateRequest) -> dict[str, AttachedFile] | None:
        """The input's files read as text, for a built-in model (a routed one is sent them)."""
        _, provider = self._registry.resolve(req.model)
        if isinstance(provider, UpstreamProvider):
            return None
        return await read_files(responses_file_parts(req), self._max_file_bytes)

    def _prepare(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None,
        files: dict[str, AttachedFile] | None = None,
        chain: list[Turn] | None = None,
    ) -> tuple[RunContext, dict[str, Any], OutputBuilder, StoreFinal | None, ConvertedInput]:
        conversation_id = conversation_of(req.conversation, req.previous_response_id,
                                          session_id)
        card, provider = self._registry.resolve(req.model)
        call: UpstreamCall | None = None
        if isinstance(provider, UpstreamProvider):
            call = provider.begin(identity, req.model, request_id_var.get() or new_id("req_"))
            call.params = responses_params(req, call.group)
            call.stream = bool(req.stream)
        else:
            check_output_limit(req.max_output_tokens, card.context_window,
                               "max_output_tokens")
            self._check_supported(req)
        window = (expand_input(req.input, identity.subject, self._windows)
                  if self._windows is not None and not isinstance(req.input, str) else None)
        converted = convert_input(req, media=call is not None, window=window,
                                  files=files)
        if call is not None:
            call.question_parts = converted.question_parts
        response_id = new_id("resp_")
        base = _base_object(response_id, req, conversation_id)
        instructions = "\n\n".join([*([req.instructions] if req.instructions else []),
                                    *converted.system]) or None
        ctx = RunContext(
            identity=identity, model=req.model, question=converted.question,
            history=list(converted.history), instructions=instructions,
            previous_response_id=req.previous_response_id, conversation_id=conversation_id,
            chain=chain,
            max_output_tokens=req.max_output_tokens, truncation=req.truncation or "disabled",
            session_id=check_session_id(session_id), upstream=call,
            top_logprobs=requested_logprobs(req),
            attachments=converted.attachments,
        )
        if call is not None:
            ctx.recall = call.group.memory.recall
            ctx.recall_max_tokens = call.group.memory.max_tokens
        ctx.file_search = file_search.plan(req, identity)
        builder = OutputBuilder(None if ctx.file_search is None else file_search.SearchOutput(
            ctx.file_search, file_search.include_results(req)))
        stored = req.store is not False
        # A conversation is extended whether or not the response itself is stored; first,
        # so a conversation that cannot be extended fails the response before it is kept.
        if conversation_id is not None:
            check_item_ids(converted.items, "input")
            ctx.requested_effects["write_conversation"] = conversation_writer(
                self._pool, ctx, conversation_id, converted.items,
                lambda: list(_final(base, ctx, builder)["output"]))
        store_final: StoreFinal | None = None
        if stored:
            async def store_final(final: dict[str, Any], keep_existing: bool) -> None:
                await self._store(identity, req, converted, final,
                                  _session_of(ctx, base, stored), keep_existing,
                                  ctx.file_search)

            async def store() -> None:
                await store_final(_final(base, ctx, builder), False)

            ctx.requested_effects["store_response"] = store
        # `store: false` keeps nothing: neither the response nor the caller's words.
        if self._memory is not None and stored:
            ctx.requested_effects["write_memory"] = memory_writer(self._memory, ctx, self._lane)
        # A conversation's working memory starts with its second turn: a one-off request
        # (no session named, no chain continued) leaves nothing behind in the session store.
        if ctx.session_id is not None or req.previous_response_id is not None:
            ctx.requested_effects["write_session"] = session_writer(
                self._sessions, ctx, lambda: builder.text or "", base["id"],
                lambda: _session_of(ctx, base, stored),
            )
        return ctx, base, builder, store_final, converted

    async def create(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """Run the pipeline to the end; the Response object and the session it joined."""
        files = await self._files(req)
        ctx, base, builder, store_final, _ = self._prepare(identity, req, session_id, files)
        try:
            async for event in self._orchestrator.run(ctx):
                if isinstance(event, ReasoningDelta):
                    builder.add_reasoning(event.text)
                elif isinstance(event, ToolCallDelta):
                    builder.add_tool_call(event)
                elif isinstance(event, RefusalDelta):
                    builder.add_refusal(event.text)
                else:
                    builder.add_text(event.text, event.logprobs)
        except APIError as exc:
            # An answer that broke off once started is kept as failed, as a stream's is.
            started = bool(builder.parts or builder.reasoning is not None or builder.calls)
            if started and store_final is not None:
                await _store_abandoned(store_final, _final(
                    base, ctx, builder, error={"code": exc.code or "server_error",
                                               "message": exc.message}))
            raise
        return _final(base, ctx, builder), _session_of(ctx, base, req.store is not False)

    async def stream(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None = None
    ) -> tuple[AsyncIterator[bytes], str | None]:
        """Start the run (errors before the first delta are raised as plain HTTP errors);
        the SSE frames and the session the response joins."""
        started = await self.stream_events(identity, req, session_id)
        return _sse_frames(started.events), started.session_id

    async def stream_events(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None = None,
        chain: list[Turn] | None = None,
    ) -> ResponseStream:
        """Start the run (errors before the first delta are raised); its events, for any
        transport. `chain`: the turns of `req.previous_response_id`'s conversation when the
        caller holds them (a WebSocket's connection-local state), instead of reading them
        from storage."""
        files = await self._files(req)
        ctx, base, builder, store_final, converted = self._prepare(identity, req, session_id,
                                                                   files, chain)
        events, first = await self._orchestrator.start(ctx)
        started = ResponseStream(base["id"], _session_of(ctx, base, req.store is not False),
                                 ctx.chain or [], converted, ctx.file_search)
        started.events = self._events(ctx, base, builder, events, first, store_final, started)
        return started

    async def _events(
        self, ctx: RunContext, base: dict[str, Any], builder: OutputBuilder,
        events: AsyncGenerator[Event, None], first: Event | None,
        store_final: StoreFinal | None, out: ResponseStream,
    ) -> AsyncGenerator[list[Payload], None]:
        """The stream's events. A client that goes away after `response.created` (the
        generator is closed, or cancelled while it waits on the pipeline) leaves its
        response stored as `cancelled` with what it had been sent, so the announced id is
        never a dangling one; the run's own store, if it got there first, stays."""
        encoder = StreamEncoder(builder)
        snapshot = {**base, "status": "in_progress", "usage": None}
        ended = False
        final: dict[str, Any]
        try:
            yield [*encoder.start(snapshot), *encoder.file_search_call()]
            try:
                pending = first
                while pending is not None:
                    if isinstance(pending, ReasoningDelta):
                        payloads = encoder.reasoning(pending.text)
                    elif isinstance(pending, ToolCallDelta):
                        payloads = encoder.tool_call(pending)
                    elif isinstance(pending, RefusalDelta):
                        payloads = encoder.refusal(pending.text)
                    else:
                        payloads = encoder.text(pending.text, pending.logprobs)
                    yield payloads
                    pending = await anext(events, None)
                ended = True
                final = _final(base, ctx, builder)
                payloads = encoder.finish(final)
            except Exception as exc:
                ended = True
                log.exception("response stream failed", extra={"response_id": base["id"]})
                message = exc.message if isinstance(exc, APIError) else "The server had an error."
                code = (exc.code if isinstance(exc, APIError) else None) or "server_error"
                final = _final(base, ctx, builder, error={"code": code, "message": message})
                payloads = encoder.fail(final)
                if store_final is not None:  # the partial answer is kept, as failed
                    await _store_abandoned(store_final, final)
            finally:
                if ended:
                    await events.aclose()
            out.final = final
            yield payloads
        except (GeneratorExit, asyncio.CancelledError):
            if not ended:
                # The client left mid-run. Shielded: a cancelled scope would cancel these too.
                with anyio.move_on_after(_ABANDON_CLEANUP_S, shield=True):
                    await events.aclose()
                    if store_final is not None:
                        await _store_abandoned(store_final, _cancelled(base, ctx, builder))
            raise

    async def _store(self, identity: Identity, req: ResponseCreateRequest,
                     converted: ConvertedInput, final: dict[str, Any],
                     session_id: str | None, keep_existing: bool = False,
                     search: FileSearch | None = None) -> None:
        async with self._pool.acquire() as conn:
            await repo.insert(
                conn, id=final["id"], owner=identity.subject,
                previous_response_id=req.previous_response_id, model=req.model,
                status=final["status"], input_items=converted.items,
                turns=_turns(converted, final, search), body=final, session_id=session_id,
                keep_existing=keep_existing,
            )

    # -- stored responses ---------------------------------------------------------------

    async def get(self, identity: Identity, response_id: str) -> dict[str, Any]:
        """A stored response of the caller's, or 404."""
        async with self._pool.acquire() as conn:
            stored = await repo.get(conn, identity.subject, response_id)
        if stored is None:
            raise _not_found(response_id)
        return stored.body

    async def replay(
        self, identity: Identity, response_id: str, starting_after: int | None
    ) -> AsyncIterator[bytes]:
        """The stored response's full event stream, as it was sent, after `starting_after`."""
        body = await self.get(identity, response_id)
        builder = OutputBuilder(file_search.stored_output(body))
        for item in body["output"]:
            if item["type"] == "reasoning":
                builder.reasoning_id = item["id"]
            elif item["type"] == "message":
                builder.message_id = item["id"]
        encoder = StreamEncoder(builder)
        payloads = encoder.start({**body, "status": "in_progress", "output": [], "usage": None})
        for item in body["output"]:
            if item["type"] == "file_search_call":
                payloads += encoder.file_search_call()
            elif item["type"] == "reasoning":
                payloads += encoder.reasoning("".join(s["text"] for s in item["summary"]))
            elif item["type"] == "message":
                for part in item["content"]:
                    payloads += (encoder.refusal(part["refusal"]) if part["type"] == "refusal"
                                 else encoder.text(part.get("text", ""),
                                                   part.get("logprobs")))
            elif item["type"] == "function_call":
                payloads += encoder.tool_call(ToolCallDelta(
                    len(builder.calls), item["call_id"], item["name"], item["arguments"]),
                    item["id"])
        payloads += encoder.finish(body)

        async def frames() -> AsyncIterator[bytes]:
            yield named_frames(p for p in payloads
                               if starting_after is None or p["sequence_number"] > starting_after)

        return frames()

    async def delete(self, identity: Identity, response_id: str) -> dict[str, Any]:
        """Delete a stored response of the caller's, or 404."""
        async with self._pool.acquire() as conn:
            deleted = await repo.delete(conn, identity.subject, response_id)
        if not deleted:
            raise _not_found(response_id)
        return {"id": response_id, "object": "response.deleted", "deleted": True}

    async def input_items(
        self, identity: Identity, response_id: str, query: InputItemsQuery
    ) -> dict[str, Any]:
        """One page of a stored response's input items (cursor pagination)."""
        async with self._pool.acquire() as conn:
            stored = await repo.get(conn, identity.subject, response_id)
        if stored is None:
            raise _not_found(response_id)
        items = stored.input_items if query.order == "asc" else stored.input_items[::-1]
        start = 0
        if query.after is not None:
            ids = [item["id"] for item in items]
            if query.after not in ids:
                raise InvalidRequest(f"No input item with id '{query.after}'.", param="after")
            start = ids.index(query.after) + 1
        return list_page(items[start : start + query.limit], start + query.limit < len(items))


def _turns(converted: ConvertedInput, final: dict[str, Any],
           search: FileSearch | None = None) -> list[dict[str, Any]]:
    """The conversation turns one response adds: its input (a turn's images and files kept
    with it: a later turn of the chain sends them on), what its file search found, its
    answer, its calls."""
    rid = final["id"]
    turns = [{"role": t.role, "text": t.text, "source": stored_source(rid, t.source),
              **({"parts": list(t.parts)} if t.parts else {}),
              **({"file": t.file} if t.file is not None else {})}
             for t in converted.history]
    if converted.question or converted.question_parts:
        turns.append({"role": "user", "text": converted.question,
                      "source": f"{rid} input {len(converted.items)}",
                      **({"parts": converted.question_parts}
                         if converted.question_parts else {})})
    searched = None if search is None else found_turn(search, f"{rid} output")
    if searched is not None:  # what the answer was given to read, kept with the chain
        turns.append({"role": searched.role, "text": searched.text, "source": searched.source})
    answer = "".join(p["text"] for item in final["output"] if item["type"] == "message"
                     for p in item["content"] if p["type"] == "output_text")
    turns.append({"role": "assistant", "text": answer, "source": f"{rid} output"})
    for item in final["output"]:
        if item["type"] == "function_call":
            turn = call_turn(item["call_id"], item["name"], item["arguments"], f"{rid} output")
            turns.append({"role": turn.role, "text": turn.text, "source": turn.source})
    return turns


async def _sse_frames(batches: AsyncGenerator[list[Payload], None]) -> AsyncIterator[bytes]:
    """The events as SSE frames, a batch per write; closing these closes the events."""
    try:
        async for batch in batches:
            yield named_frames(batch)
    finally:
        await batches.aclose()


def _session_of(ctx: RunContext, base: dict[str, Any], stored: bool) -> str | None:
    """The session: named by the caller or the chain; else a stored response starts its own
    (but not one made in a conversation, which keeps its own history)."""
    if ctx.session_id is not None:
        return ctx.session_id
    return str(base["id"]) if stored and ctx.conversation_id is None else None


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id",
                    code="response_not_found")


def _base_object(response_id: str, req: ResponseCreateRequest,
                 conversation_id: str | None) -> dict[str, Any]:
    return {
        "id": response_id, "object": "response", "created_at": int(time.time()),
        "status": "in_progress", "completed_at": None, "background": False, "error": None,
        "conversation": None if conversation_id is None else {"id": conversation_id},
        "incomplete_details": None, "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens, "model": req.model,
        "metadata": req.metadata or {}, "output": [],
        "parallel_tool_calls": req.parallel_tool_calls is not False,
        "previous_response_id": req.previous_response_id,
        "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
        "store": req.store is not False,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "text": req.text or {"format": {"type": "text"}},
        "tool_choice": req.tool_choice or "auto", "tools": req.tools or [],
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "truncation": req.truncation or "disabled", "user": req.user, "usage": None,
    }


async def _store_abandoned(store_final: StoreFinal, cancelled: dict[str, Any]) -> None:
    try:
        await store_final(cancelled, True)
    except Exception:
        log.exception("storing an abandoned response failed",
                      extra={"response_id": cancelled["id"]})


def _cancelled(base: dict[str, Any], ctx: RunContext, builder: OutputBuilder) -> dict[str, Any]:
    """The response of a stream its client left: what it had been sent, `cancelled`."""
    return {**_final(base, ctx, builder), "status": "cancelled", "completed_at": None,
            "incomplete_details": None, "output": builder.items("incomplete")}


def _incomplete(reason: str, ctx: RunContext) -> dict[str, Any]:
    """Why the answer stopped; ended by the content filter, also how many spans of what was
    sent were redacted before it (never which rule, nor what)."""
    if reason == "content_filter":
        return {"reason": reason, "redactions": ctx.redactions}
    return {"reason": reason}


def _final(base: dict[str, Any], ctx: RunContext, builder: OutputBuilder,
           error: dict[str, str] | None = None) -> dict[str, Any]:
    status = "failed" if error else _STATUS[ctx.finish_reason]
    reason = _INCOMPLETE_REASON.get(ctx.finish_reason)
    u = ctx.usage
    return {
        **base, "status": status, "error": error,
        "completed_at": int(time.time()) if status == "completed" else None,
        "incomplete_details": _incomplete(reason, ctx) if status == "incomplete" and reason
        else None,
        "output": builder.items("completed" if status == "completed" else "incomplete"),
        "usage": usage_object(u.input_tokens, u.output_tokens, u.reasoning_tokens,
                              u.cached_tokens),
    }

