"""The Responses service: one pipeline run per create; stored responses by owner."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import anyio

from app.api.conversations.service import check_item_ids, conversation_of
from app.api.files import AttachedFile, responses_file_parts
from app.api.listing import list_page
from app.api.protocol import check_output_limit, plain
from app.api.responses import file_search
from app.api.responses.compact import expand_input
from app.api.responses.convert import (
    ConvertedInput,
    convert_input,
    requested_logprobs,
    stored_source,
)
from app.api.responses.events import OutputBuilder, StreamEncoder
from app.api.responses.protocol import (
    ConversationRef,
    FilteredDetails,
    FunctionTool,
    IncompleteDetails,
    InputItemsQuery,
    OutputFileSearchCall,
    OutputFunctionCall,
    OutputMessage,
    OutputReasoning,
    OutputRefusalPart,
    OutputTextPart,
    ReasoningConfig,
    ResponseCreateRequest,
    ResponseError,
    ResponseObject,
    ResponseStatus,
    ResponseUsage,
    StreamEvent,
    response_from_stored,
)
from app.api.runs import builtin_files, deliver, drain, equip, upstream_call
from app.api.upstream_params import responses_params
from app.core.effects import EffectKind
from app.core.turns import Turn, turn_record
from app.db.repositories import responses as repo
from app.errors import APIError, InvalidRequest, NotFound
from app.identity.base import Identity
from app.ids import new_id
from app.matriz.contract import (
    Event,
    ReasoningDelta,
    RefusalDelta,
    RunContext,
    TextDelta,
    ToolCallDelta,
)
from app.matriz.orchestrator import Orchestrator
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.retrieval import FileSearch, found_turn
from app.matriz.structured import responses_format
from app.matriz.tools.plan import responses_plan
from app.matriz.toolturns import call_turn
from app.memory.compaction import WindowSeal
from app.memory.conversations import ConversationMemory, MemoryWrite
from app.memory.threads import ConversationWrite
from app.sessions.base import SessionStore
from app.sessions.effects import SessionWrite, check_session_id
from app.sse import named_frames

log = logging.getLogger("lukhas.responses")

_STATUS: dict[str, ResponseStatus] = {
    "stop": "completed", "tool_calls": "completed", "length": "incomplete",
    "content_filter": "incomplete"}
_INCOMPLETE_REASON = {"length": "max_output_tokens", "content_filter": "content_filter"}
# How long an abandoned stream may take to store what it had (and to close its run).
_ABANDON_CLEANUP_S = 10.0

StoreFinal = Callable[[ResponseObject, bool], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _ResponseStore:
    """The effect that stores the response as its run ended (`store` is not false)."""

    store: StoreFinal
    finish: Callable[[], ResponseObject]
    kind: ClassVar[EffectKind] = EffectKind.STORE_RESPONSE

    async def run(self) -> None:
        """Store the finished response."""
        await self.store(self.finish(), False)


@dataclass(slots=True)
class _Run:
    """One response's run: the object it started as, and the one it ended as, built once
    (what is stored, returned and streamed is that same object)."""

    base: ResponseObject
    ctx: RunContext
    builder: OutputBuilder
    final: ResponseObject | None = None

    def finish(self) -> ResponseObject:
        """The response as the run ended (built on the first call)."""
        if self.final is None:
            self.final = _final(self.base, self.ctx, self.builder)
        return self.final

    def fail(self, code: str, message: str) -> ResponseObject:
        """The response as the run failed, with what it had made."""
        self.final = _final(self.base, self.ctx, self.builder,
                            ResponseError(code=code, message=message))
        return self.final


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
    events: AsyncGenerator[list[StreamEvent], None] = field(init=False)
    final: ResponseObject | None = None

    def conversation(self) -> list[Turn]:
        """The conversation a `previous_response_id` naming this response reads: the chain
        it continued, then its own input and answer."""
        own = [] if self.final is None else _turns(self.converted, self.final, self.search)
        return [*self.chain, *(Turn(t["role"], t["text"], t["source"],
                                    tuple(t.get("parts") or ()), file=t.get("file"))
                               for t in own)]


@dataclass(frozen=True, slots=True)
class PreparedStream:
    """A checked run, not started yet: the Response object it begins as (`in_progress`,
    no output), its session and input items, and `start()`."""

    snapshot: dict[str, Any]
    session_id: str | None
    input_items: list[dict[str, Any]]
    start: Callable[[], Awaitable[ResponseStream]]


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

    async def _files(self, req: ResponseCreateRequest) -> dict[str, AttachedFile] | None:
        return await builtin_files(self._registry, req.model, responses_file_parts(req),
                                   self._max_file_bytes)

    def _prepare(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None,
        files: dict[str, AttachedFile] | None = None,
        chain: list[Turn] | None = None,
    ) -> tuple[_Run, StoreFinal | None, ConvertedInput]:
        conversation_id = conversation_of(req.conversation, req.previous_response_id,
                                          session_id)
        card, call = upstream_call(self._registry, identity, req.model, lambda: new_id("req_"))
        if call is not None:
            call.params = responses_params(req, call.group)
            call.stream = bool(req.stream or req.background)  # a background run is followed
        else:
            check_output_limit(req.max_output_tokens, card.context_window,
                               "max_output_tokens")
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
            attachments=converted.attachments, ref=response_id,
        )
        equip(ctx, call, lambda: (
            responses_plan(req.model, req.tools, req.tool_choice, req.parallel_tool_calls,
                           getattr(req, "max_tool_calls", None)),
            responses_format(req.text, req.model)))
        ctx.file_search = file_search.plan(req, identity)
        builder = OutputBuilder(None if ctx.file_search is None else file_search.SearchOutput(
            ctx.file_search, file_search.include_results(req)))
        run = _Run(base, ctx, builder)
        stored = req.store is not False
        # A conversation is extended whether or not the response itself is stored; first,
        # so a conversation that cannot be extended fails the response before it is kept.
        if conversation_id is not None:
            check_item_ids(converted.items, "input")
            ctx.requested_effects.append(ConversationWrite(
                self._pool, identity.subject, conversation_id, converted.items,
                lambda: plain(run.finish().output)))
        store_final: StoreFinal | None = None
        if stored:
            async def store_final(final: ResponseObject, keep_existing: bool) -> None:
                await self._store(identity, req, converted, final,
                                  _session_of(ctx, base, stored), keep_existing,
                                  ctx.file_search)

            ctx.requested_effects.append(_ResponseStore(store_final, run.finish))
        # `store: false` keeps nothing: neither the response nor the caller's words.
        if self._memory is not None and stored:
            ctx.requested_effects.append(
                MemoryWrite(self._memory, identity.subject, ctx.question, self._lane))
        # A conversation's working memory starts with its second turn: a one-off request
        # (no session named, no chain continued) leaves nothing behind in the session store.
        if ctx.session_id is not None or req.previous_response_id is not None:
            ctx.requested_effects.append(SessionWrite(
                self._sessions, ctx, lambda: builder.text or "", base.id,
                lambda: _session_of(ctx, base, stored)))
        return run, store_final, converted

    async def create(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None = None
    ) -> tuple[ResponseObject, str | None]:
        """Run the pipeline to the end; the Response object and the session it joined."""
        files = await self._files(req)
        run, store_final, _ = self._prepare(identity, req, session_id, files)
        ctx, base, builder = run.ctx, run.base, run.builder
        ctx.streamed = False
        try:
            await drain(self._orchestrator.run(ctx), builder)
        except APIError as exc:
            # An answer that broke off once started is kept as failed, as a stream's is.
            started = bool(builder.parts or builder.reasoning is not None or builder.calls)
            if started and store_final is not None:
                await _store_abandoned(store_final, run.fail(exc.code or "server_error",
                                                             exc.message))
            raise
        return run.finish(), _session_of(ctx, base, req.store is not False)

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
        prepared = await self.prepare_stream(identity, req, session_id, chain)
        return await prepared.start()

    async def prepare_stream(
        self, identity: Identity, req: ResponseCreateRequest, session_id: str | None = None,
        chain: list[Turn] | None = None,
    ) -> PreparedStream:
        """Check and prepare the run now (its request errors are raised here); start it
        later, with `start()` (a background response's runner does)."""
        files = await self._files(req)
        run, store_final, converted = self._prepare(identity, req, session_id, files, chain)
        ctx, base = run.ctx, run.base

        async def start() -> ResponseStream:
            if ctx.upstream is not None:  # the deadline counts from the run, not its wait
                ctx.upstream.started = asyncio.get_running_loop().time()
            events, first = await self._orchestrator.start(ctx)
            started = ResponseStream(base.id, _session_of(ctx, base, req.store is not False),
                                     ctx.chain or [], converted, ctx.file_search)
            started.events = self._events(run, events, first, store_final, started)
            return started

        return PreparedStream(plain(base),
                              _session_of(ctx, base, req.store is not False), converted.items,
                              start)

    async def _events(
        self, run: _Run, events: AsyncGenerator[Event, None], first: Event | None,
        store_final: StoreFinal | None, out: ResponseStream,
    ) -> AsyncGenerator[list[StreamEvent], None]:
        """The stream's events. A client that goes away after `response.created` (the
        generator is closed, or cancelled while it waits on the pipeline) leaves its
        response stored as `cancelled` with what it had been sent, so the announced id is
        never a dangling one; the run's own store, if it got there first, stays."""
        base, builder = run.base, run.builder
        encoder = StreamEncoder(builder)
        ended = False
        final: ResponseObject
        try:
            yield [*encoder.start(base), *encoder.file_search_call()]
            try:
                pending = first
                while pending is not None:
                    yield deliver(pending, encoder)
                    pending = await anext(events, None)
                ended = True
                final = run.finish()
                payloads = encoder.finish(final)
            except Exception as exc:
                ended = True
                log.exception("response stream failed", extra={"response_id": base.id})
                message = exc.message if isinstance(exc, APIError) else "The server had an error."
                code = (exc.code if isinstance(exc, APIError) else None) or "server_error"
                final = run.fail(code, message)
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
                        await _store_abandoned(store_final, _cancelled(run))
            raise

    async def _store(self, identity: Identity, req: ResponseCreateRequest,
                     converted: ConvertedInput, final: ResponseObject,
                     session_id: str | None, keep_existing: bool = False,
                     search: FileSearch | None = None) -> None:
        async with self._pool.acquire() as conn:
            await repo.insert(
                conn, id=final.id, owner=identity.subject,
                previous_response_id=req.previous_response_id, model=req.model,
                status=final.status, input_items=converted.items,
                turns=_turns(converted, final, search), body=final, session_id=session_id,
                keep_existing=keep_existing,
            )

    # -- stored responses ---------------------------------------------------------------

    async def get(self, identity: Identity, response_id: str) -> ResponseObject:
        """A stored response of the caller's, or 404."""
        async with self._pool.acquire() as conn:
            stored = await repo.get(conn, identity.subject, response_id)
        if stored is None:
            raise _not_found(response_id)
        return response_from_stored(stored.body)

    async def replay(
        self, identity: Identity, response_id: str, starting_after: int | None
    ) -> AsyncIterator[bytes]:
        """The stored response's full event stream, as it was sent, after `starting_after`."""
        body = await self.get(identity, response_id)
        builder = OutputBuilder(file_search.stored_output(body))
        for item in body.output:
            if isinstance(item, OutputReasoning):
                builder.reasoning_id = item.id
            elif isinstance(item, OutputMessage):
                builder.message_id = item.id
        encoder = StreamEncoder(builder)
        payloads = encoder.start(replace(body, status="in_progress", completed_at=None,
                                         error=None, incomplete_details=None, output=[],
                                         usage=None))
        for item in body.output:
            if isinstance(item, OutputFileSearchCall):
                payloads += encoder.file_search_call()
            elif isinstance(item, OutputReasoning):
                payloads += encoder.on_reasoning(
                    ReasoningDelta("".join(s.text for s in item.summary)))
            elif isinstance(item, OutputMessage):
                for part in item.content:
                    payloads += (encoder.on_refusal(RefusalDelta(part.refusal))
                                 if isinstance(part, OutputRefusalPart)
                                 else encoder.on_text(TextDelta(part.text, part.logprobs)))
            elif isinstance(item, OutputFunctionCall):
                payloads += encoder.on_tool_call(ToolCallDelta(
                    len(builder.calls), item.call_id, item.name, item.arguments), item.id)
        payloads += encoder.finish(body)

        async def frames() -> AsyncIterator[bytes]:
            yield named_frames(p for p in payloads
                               if starting_after is None or p.sequence_number > starting_after)

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


def _turns(converted: ConvertedInput, final: ResponseObject,
           search: FileSearch | None = None) -> list[dict[str, Any]]:
    """The conversation turns one response adds: its input (a turn's images and files kept
    with it: a later turn of the chain sends them on), what its file search found, its
    answer, its calls."""
    rid = final.id
    # Each response's time is its row's, so its turns are stored without their own.
    turns = [replace(t, source=stored_source(rid, t.source), at=None)
             for t in converted.history]
    if converted.question or converted.question_parts:
        turns.append(Turn("user", converted.question, f"{rid} input {len(converted.items)}",
                          tuple(converted.question_parts or ())))
    searched = None if search is None else found_turn(search, f"{rid} output")
    if searched is not None:  # what the answer was given to read, kept with the chain
        turns.append(searched)
    answer = "".join(p.text for item in final.output if isinstance(item, OutputMessage)
                     for p in item.content if isinstance(p, OutputTextPart))
    turns.append(Turn("assistant", answer, f"{rid} output"))
    turns += [call_turn(item.call_id, item.name, item.arguments, f"{rid} output")
              for item in final.output if isinstance(item, OutputFunctionCall)]
    return [turn_record(t) for t in turns]


async def _sse_frames(
        batches: AsyncGenerator[list[StreamEvent], None]) -> AsyncIterator[bytes]:
    """The events as SSE frames, a batch per write; closing these closes the events."""
    try:
        async for batch in batches:
            yield named_frames(batch)
    finally:
        await batches.aclose()


def _session_of(ctx: RunContext, base: ResponseObject, stored: bool) -> str | None:
    """The session: named by the caller or the chain; else a stored response starts its own
    (but not one made in a conversation, which keeps its own history)."""
    if ctx.session_id is not None:
        return ctx.session_id
    return base.id if stored and ctx.conversation_id is None else None


def _not_found(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id",
                    code="response_not_found")


def _base_object(response_id: str, req: ResponseCreateRequest,
                 conversation_id: str | None) -> ResponseObject:
    """The response as it starts: the request's settings as they are used (what the caller
    sent, else the default), no output yet."""
    reasoning = req.reasoning or {}
    return ResponseObject(
        id=response_id, created_at=int(time.time()), status="in_progress",
        background=bool(req.background),
        conversation=None if conversation_id is None else ConversationRef(id=conversation_id),
        instructions=req.instructions, max_output_tokens=req.max_output_tokens,
        max_tool_calls=req.max_tool_calls, model=req.model, metadata=req.metadata or {},
        parallel_tool_calls=req.parallel_tool_calls is not False,
        previous_response_id=req.previous_response_id,
        prompt_cache_key=req.prompt_cache_key,
        reasoning=ReasoningConfig(effort=reasoning.get("effort"),
                                  summary=reasoning.get("summary")),
        safety_identifier=req.safety_identifier, store=req.store is not False,
        temperature=1.0 if req.temperature is None else req.temperature,
        text={**(req.text or {}), "format": (req.text or {}).get("format") or {"type": "text"}},
        tool_choice=req.tool_choice or "auto", tools=[_tool(t) for t in req.tools or ()],
        top_logprobs=req.top_logprobs or 0,
        top_p=1.0 if req.top_p is None else req.top_p,
        presence_penalty=req.presence_penalty or 0.0,
        frequency_penalty=req.frequency_penalty or 0.0,
        truncation=req.truncation or "disabled", user=req.user,
    )


def _tool(tool: dict[str, Any]) -> FunctionTool | dict[str, Any]:
    """A tool as the response shows it: a function with every field (null when not given),
    another kind as given."""
    if tool.get("type") != "function":
        return tool
    return FunctionTool(name=tool.get("name") or "", description=tool.get("description"),
                        parameters=tool.get("parameters"), strict=tool.get("strict"))


async def _store_abandoned(store_final: StoreFinal, cancelled: ResponseObject) -> None:
    try:
        await store_final(cancelled, True)
    except Exception:
        log.exception("storing an abandoned response failed",
                      extra={"response_id": cancelled.id})


def _cancelled(run: _Run) -> ResponseObject:
    """The response of a stream its client left: what it had been sent, `cancelled`."""
    final = _final(run.base, run.ctx, run.builder)
    return final.ended("cancelled", completed_at=None, error=final.error,
                       incomplete_details=None, output=run.builder.items("incomplete"),
                       usage=final.usage)


def _incomplete(reason: str, ctx: RunContext) -> IncompleteDetails:
    """Why the answer stopped; ended by the content filter, also how many spans of what was
    sent were redacted before it (never which rule, nor what)."""
    if reason == "content_filter":
        return FilteredDetails(reason=reason, redactions=ctx.redactions)
    return IncompleteDetails(reason=reason)


def _final(base: ResponseObject, ctx: RunContext, builder: OutputBuilder,
           error: ResponseError | None = None) -> ResponseObject:
    status = "failed" if error else _STATUS[ctx.finish_reason]
    reason = _INCOMPLETE_REASON.get(ctx.finish_reason)
    u = ctx.usage
    return base.ended(
        status, error=error, completed_at=int(time.time()) if status == "completed" else None,
        incomplete_details=_incomplete(reason, ctx) if status == "incomplete" and reason
        else None,
        output=builder.items("completed" if status == "completed" else "incomplete"),
        usage=ResponseUsage.of(u.input_tokens, u.output_tokens, u.reasoning_tokens,
                               u.cached_tokens),
    )
