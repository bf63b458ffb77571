"""`POST /v1/responses/compact`, and the compaction items a new response starts from.

Compaction reads the caller's conversation (the `previous_response_id` chain, then the
`input` items), splits it into turns to keep verbatim and turns to drop (see
`app/memory/compaction.py`), and answers with the kept turns as items followed by one
`compaction` item whose sealed content stands for the rest. A new response passes that
output as its `input`, with new items after it: `expand_input` opens each compaction item
(a 400 naming it when it is not the caller's or was altered) and the input's conversion puts
the window's context back as a system turn, the kept items keeping their original sources.
Open Responses 2026-04-24 ("WebSocket Compaction", CompactResource);
https://platform.openai.com/docs/api-reference/responses/compact.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from app.api.responses.compact_protocol import CompactRequest, CompactResource
from app.api.responses.convert import convert_input, stored_source
from app.api.responses.protocol import (
    CompactionItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputItem,
    InputText,
    MessageItem,
    OutputCompaction,
    OutputFunctionCall,
    OutputFunctionCallOutput,
    OutputItem,
    OutputMessage,
    OutputText,
    OutputTextPart,
    Refusal,
    ResponseCreateRequest,
    ResponseUsage,
)
from app.core.turns import Turn
from app.db.repositories import responses as responses_repo
from app.errors import InvalidRequest, previous_response_not_found
from app.identity.base import Identity
from app.identity.seal import SealError
from app.ids import new_id
from app.matriz.contract import RefusalDelta, TextDelta
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.registry import ProviderRegistry
from app.matriz.providers.upstream.errors import UpstreamError
from app.matriz.providers.upstream.provider import UpstreamProvider
from app.matriz.tokenizer import count_tokens
from app.matriz.toolturns import CALL, OUTPUT, call_turn, fields, output_turn
from app.memory.compaction import (
    Expansion,
    Kept,
    Window,
    WindowSeal,
    context_text,
    conversational,
    describe,
    digest,
    keep_last,
    keep_statements,
)
from app.observability.logging import request_id_var
from app.reliability.meter import request_meter

# What a routed group's upstream is asked, after the turns it is to summarise.
SUMMARISE = ("Summarise the conversation above for your own later use, in a few short "
             "paragraphs: keep the names, facts and preferences the user stated, decisions "
             "made, and open tasks. Answer with the summary only.")
SUMMARY_LEAD = "Summary of the earlier conversation: "
_OUTPUT_ROOM = 1024  # tokens left in a group's context window for the summary itself


def expand_input(items: Sequence[InputItem], owner: str,
                 windows: WindowSeal) -> Expansion | None:
    """Open the input's compaction items for `owner`: None when it has none, else what
    the conversion adds (a 400 naming the item, `input[i]`, if one does not open)."""
    opened: list[tuple[int, Window]] = []
    for i, item in enumerate(items):
        if isinstance(item, CompactionItem):
            try:
                opened.append((i, windows.open(owner, item.encrypted_content)))
            except SealError:
                raise InvalidRequest(
                    f"The compaction item input[{i}] could not be verified: it was not made "
                    "for this caller by this service, or it was altered.",
                    param=f"input[{i}]", code="invalid_encrypted_content") from None
    if not opened:
        return None
    expansion = Expansion()
    texts = [_item_text(item) for item in items]
    for at, window in opened:
        first = at
        for j, item in enumerate(items):
            text = texts[j]
            source = None if text is None else window.source_of(getattr(item, "id", None), text)
            if source is not None:
                expansion.sources[j] = source
                first = min(first, j)
        turn = window.turn()
        if turn is not None:  # the context goes ahead of the first kept item found
            expansion.before.setdefault(first, []).append(turn)
    return expansion


def _item_text(item: InputItem) -> str | None:
    """An item's turn text, as the input's conversion makes it (None: not a turn)."""
    if isinstance(item, MessageItem):
        if isinstance(item.content, str):
            return item.content
        texts = []
        for part in item.content:
            if isinstance(part, InputText | OutputText):
                texts.append(part.text)
            elif isinstance(part, Refusal):
                texts.append(part.refusal)
        return "\n".join(texts)
    if isinstance(item, FunctionCallItem):
        return call_turn(item.call_id, item.name, item.arguments, "").text
    if isinstance(item, FunctionCallOutputItem):
        return output_turn(item.call_id, item.output, "").text
    return None


class CompactService:
    """Compacts the caller's conversations."""

    def __init__(self, pool: Any, registry: ProviderRegistry, windows: WindowSeal) -> None:
        self._pool = pool
        self._registry = registry
        self._windows = windows

    async def compact(self, identity: Identity, req: CompactRequest) -> CompactResource:
        """The compacted window of the request's chain and input."""
        _, provider = self._registry.resolve(req.model)
        routed = provider if isinstance(provider, UpstreamProvider) else None
        _check_supported(req)
        if req.input is None and req.previous_response_id is None:
            raise InvalidRequest("Give 'input', 'previous_response_id', or both: there is "
                                 "nothing to compact.", param="input",
                                 code="missing_required_parameter")
        compaction_id = new_id("cmpr_")
        turns: list[Turn] = []
        if req.previous_response_id is not None:
            turns += await self._chain(identity, req.previous_response_id)
        system = [req.instructions] if req.instructions else []
        if req.input is not None and (req.input or req.previous_response_id is None):
            converted = convert_input(
                ResponseCreateRequest.model_construct(model=req.model, input=req.input),
                window=(None if isinstance(req.input, str)
                        else expand_input(req.input, identity.subject, self._windows)))
            given = list(converted.history)
            if converted.question:
                given.append(Turn("user", converted.question, converted.question_source))
            turns += [Turn(t.role, t.text, stored_source(compaction_id, t.source))
                      for t in given]
            system += converted.system
        turns = conversational(turns)
        instructions = "\n\n".join(system) or None
        if routed is not None:
            kept, dropped = keep_last(turns)
            summary = (await self._summarise(identity, req, routed, dropped, instructions)
                       if dropped else "")
        else:
            kept, dropped = keep_statements(turns)
            summary = describe(dropped, req.model)
        output, records = _kept_items(kept)
        now = int(time.time())
        window = Window(new_id("cmp_"), req.model, now, context_text(instructions, summary),
                        tuple(records))
        sealed = self._windows.seal(identity.subject, window)
        output.append(OutputCompaction(id=window.id, encrypted_content=sealed,
                                       created_by=req.model))
        usage = _usage(instructions, turns, summary)
        return CompactResource(id=compaction_id, created_at=now, output=output, usage=usage)

    async def _chain(self, identity: Identity, response_id: str) -> list[Turn]:
        async with self._pool.acquire() as conn:
            found = await responses_repo.chain_turns(conn, identity.subject, response_id)
        if found is None:
            raise previous_response_not_found(response_id)
        return [Turn(t["role"], t["text"], t["source"]) for t in found.turns]

    async def _summarise(self, identity: Identity, req: CompactRequest,
                         provider: UpstreamProvider, dropped: list[Turn],
                         instructions: str | None) -> str:
        """The upstream's summary of the dropped turns: one chat call through the group's
        route, inside its deadline. Turns too old to fit its context window are described
        as the built-in model describes them."""
        call = provider.begin(identity, req.model, request_id_var.get() or new_id("req_"))
        call.stream = False
        room = (call.group.context_window_tokens - min(_OUTPUT_ROOM, call.group.max_output_tokens)
                - count_tokens(SUMMARISE) - count_tokens(instructions or ""))
        older, recent = _fit(dropped, room)
        outcome = ThoughtOutcome()
        events = provider.stream(ThoughtInput(req.model, instructions, tuple(recent), SUMMARISE,
                                              call), outcome)
        parts: list[str] = []
        try:
            async for event in events:
                if isinstance(event, RefusalDelta):
                    raise UpstreamError(f"The upstream serving '{req.model}' refused to "
                                        "summarise the conversation.")
                if isinstance(event, TextDelta):
                    parts.append(event.text)
        finally:
            await events.aclose()
        summary = "".join(parts).strip()
        if not summary:
            raise UpstreamError(f"The upstream serving '{req.model}' gave no summary.")
        return "\n".join([*([describe(older, req.model)] if older else []),
                          SUMMARY_LEAD + summary])


def _check_supported(req: CompactRequest) -> None:
    """Every field is honoured or a 400 naming it: none is silently dropped. No model here
    has a prompt cache to key (as for `/v1/responses`, a routed group's neither)."""
    unknown = "prompt_cache_key" if req.prompt_cache_key is not None else next(
        iter(req.model_extra or {}), None)
    if unknown is not None:
        raise InvalidRequest(f"'{unknown}' is not supported for compaction.", param=unknown,
                             code="unsupported_parameter")


def _fit(turns: list[Turn], room: int) -> tuple[list[Turn], list[Turn]]:
    """(older, recent): the most recent turns that fit in `room` tokens, never starting
    with a function's output, and the older ones before them."""
    start, total = len(turns), 0
    while start > 0 and total + count_tokens(turns[start - 1].text) <= room:
        start -= 1
        total += count_tokens(turns[start].text)
    while start < len(turns) and turns[start].role == OUTPUT:
        start += 1
    return turns[:start], turns[start:]


def _kept_items(kept: list[Turn]) -> tuple[list[OutputItem], list[Kept]]:
    """The kept turns as output items, and what the window records of each."""
    items: list[OutputItem] = []
    records: list[Kept] = []
    for turn in kept:
        item: OutputFunctionCall | OutputFunctionCallOutput | OutputMessage
        if turn.role == CALL:
            call = fields(turn)
            item = OutputFunctionCall(id=new_id("fc_"), call_id=call["call_id"],
                                      name=call["name"], arguments=call["arguments"],
                                      status="completed")
        elif turn.role == OUTPUT:
            result = fields(turn)
            item = OutputFunctionCallOutput(id=new_id("fco_"), call_id=result["call_id"],
                                            output=result["output"], status="completed")
        else:
            item = OutputMessage(id=new_id("msg_"),
                                 role="assistant" if turn.role == "assistant" else "user",
                                 status="completed", content=[OutputTextPart(text=turn.text)])
        items.append(item)
        records.append(Kept(item.id, digest(turn.text), turn.source))
    return items, records


def _usage(instructions: str | None, turns: list[Turn], summary: str) -> ResponseUsage:
    """Tokens read (the instructions and every turn compacted) and written (the summary),
    counted by the service's tokenizer; the rate limiter settles on them."""
    read = count_tokens(instructions or "") + sum(count_tokens(t.text) for t in turns)
    written = count_tokens(summary)
    meter = request_meter.get()
    if meter is not None:
        meter.add(read + written)
    return ResponseUsage.of(read, written)
