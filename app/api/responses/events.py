"""Builders of the Response object's output items and of its stream events.

The order of events follows what the SDK stream helpers check (docs: OPENAI_COMPAT §1.3–1.4):
`response.created` (output `[]`), `response.in_progress`, then each item announced at its
`output_index` with one stable id, every part and item closed with its `.done` event, and
exactly one terminal event carrying the full output. The same `OutputBuilder` produces the
non-streamed output, so a streamed and a collected answer are the same object.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.api.responses.file_search import Output
from app.api.responses.protocol import (
    ContentPartEvent,
    FileCitation,
    FileSearchCallEvent,
    FunctionCallArgumentsDeltaEvent,
    FunctionCallArgumentsDoneEvent,
    ItemStatus,
    Logprob,
    OutputFunctionCall,
    OutputItem,
    OutputItemEvent,
    OutputMessage,
    OutputReasoning,
    OutputRefusalPart,
    OutputTextAnnotationAddedEvent,
    OutputTextDeltaEvent,
    OutputTextDoneEvent,
    OutputTextPart,
    ReasoningSummaryPartEvent,
    ReasoningSummaryTextDeltaEvent,
    ReasoningSummaryTextDoneEvent,
    RefusalDeltaEvent,
    RefusalDoneEvent,
    ResponseObject,
    ResponseStateEvent,
    StreamEvent,
    SummaryText,
)
from app.ids import new_id, new_ids
from app.matriz.contract import ReasoningDelta, RefusalDelta, TextDelta, ToolCallDelta


class OutputBuilder:
    """Accumulates the reasoning summary and the answer into output items with stable ids."""

    def __init__(self, file_search: Output | None = None) -> None:
        self.file_search = file_search  # the search that ran before the answer, if any
        self.annotations: list[FileCitation] = []  # the answer text's citations
        self.reasoning_id, self.message_id = new_ids("rs_", "msg_")
        self.reasoning: str | None = None
        self.text: str | None = None
        self.refusal: str | None = None
        self.parts: list[str] = []  # the message's content parts in the order begun
        self.logprobs: list[Logprob] | None = None  # the answer's, when asked for and given
        self.calls: list[OutputFunctionCall] = []  # function_call items, in the order begun
        self._call_at: dict[int, int] = {}  # the provider's call index → position in calls

    def on_reasoning(self, delta: ReasoningDelta) -> None:
        self.reasoning = (self.reasoning or "") + delta.text

    def on_text(self, delta: TextDelta) -> list[FileCitation]:
        """Fold a text delta (and its tokens' logprobs) in; the citations it completed."""
        if self.text is None:
            self.parts.append("text")
        self.text = (self.text or "") + delta.text
        if delta.logprobs:
            self.logprobs = (self.logprobs or []) + delta.logprobs
        cited = [] if self.file_search is None else self.file_search.cite(self.text)
        self.annotations += cited
        return cited

    def on_refusal(self, delta: RefusalDelta) -> None:
        if self.refusal is None:
            self.parts.append("refusal")
        self.refusal = (self.refusal or "") + delta.text

    def part(self, kind: str) -> OutputTextPart | OutputRefusalPart:
        """The finished content part of `kind` ("text" or "refusal")."""
        if kind == "refusal":
            return OutputRefusalPart(refusal=self.refusal or "")
        return OutputTextPart(text=self.text or "", logprobs=list(self.logprobs or ()),
                              annotations=list(self.annotations))

    def on_tool_call(self, delta: ToolCallDelta,
                      item_id: str | None = None) -> tuple[OutputFunctionCall, bool]:
        """Fold one call delta in; the call's item and whether it began with this delta."""
        at = self._call_at.get(delta.index)
        if at is None:
            self._call_at[delta.index] = len(self.calls)
            item = OutputFunctionCall(id=item_id or new_id("fc_"), status="in_progress",
                                      call_id=delta.call_id or new_id("call_"),
                                      name=delta.name or "", arguments=delta.arguments)
            self.calls.append(item)
            return item, True
        item = self.calls[at]
        item.arguments += delta.arguments
        if delta.name and not item.name:
            item.name = delta.name
        return item, False

    def reasoning_item(self, *, done: bool) -> OutputReasoning:
        summary = [SummaryText(text=self.reasoning or "")] if done else []
        return OutputReasoning(id=self.reasoning_id, summary=summary,
                               status="completed" if done else "in_progress")

    def message_item(self, status: ItemStatus) -> OutputMessage:
        content = [] if status == "in_progress" else (
            [self.part(kind) for kind in self.parts] or [OutputTextPart(text="")])
        return OutputMessage(id=self.message_id, status=status, content=content)

    def items(self, message_status: ItemStatus) -> list[OutputItem]:
        """The finished output list: the file search, the reasoning, then the message."""
        out: list[OutputItem] = [] if self.file_search is None else [self.file_search.item()]
        if self.reasoning is not None:
            out.append(self.reasoning_item(done=True))
        # An answer of calls only has no message.
        if self.text is not None or self.refusal is not None or not self.calls:
            out.append(self.message_item(message_status))
        out += [replace(call, status="completed") for call in self.calls]
        return out


class StreamEncoder:
    """Turns pipeline deltas into Responses stream events with contiguous sequence numbers."""

    def __init__(self, builder: OutputBuilder) -> None:
        self.builder = builder
        self._seq = -1
        self._open: str | None = None  # "reasoning" | "message" | "call"
        self._index = -1
        self._call: OutputFunctionCall | None = None  # the function call open, if one is
        self._parts: list[str] = []  # the open message's content parts, in order

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def start(self, snapshot: ResponseObject) -> list[StreamEvent]:
        """`response.created` and `response.in_progress`, both with an empty output."""
        return [ResponseStateEvent(type="response.created", sequence_number=self._next(),
                                   response=snapshot),
                ResponseStateEvent(type="response.in_progress", sequence_number=self._next(),
                                   response=snapshot)]

    def on_reasoning(self, delta: ReasoningDelta) -> list[StreamEvent]:
        b = self.builder
        events: list[StreamEvent] = []
        if self._open != "reasoning":
            events += self._close()
            self._open, self._index = "reasoning", self._index + 1
            events.append(OutputItemEvent(
                type="response.output_item.added", sequence_number=self._next(),
                output_index=self._index, item=b.reasoning_item(done=False)))
            events.append(ReasoningSummaryPartEvent(
                type="response.reasoning_summary_part.added", sequence_number=self._next(),
                item_id=b.reasoning_id, output_index=self._index, summary_index=0,
                part=SummaryText(text="")))
        b.on_reasoning(delta)
        events.append(ReasoningSummaryTextDeltaEvent(
            sequence_number=self._next(), item_id=b.reasoning_id, output_index=self._index,
            summary_index=0, delta=delta.text))
        return events

    def on_text(self, delta: TextDelta) -> list[StreamEvent]:
        """A piece of the answer's text, with its tokens' logprobs when asked for, then an
        annotation event for each citation it completed."""
        events = self._open_message("text")
        b = self.builder
        cited = b.on_text(delta)
        content_index = self._parts.index("text")
        events.append(OutputTextDeltaEvent(
            sequence_number=self._next(), item_id=b.message_id, output_index=self._index,
            content_index=content_index, delta=delta.text, logprobs=delta.logprobs or []))
        first = len(b.annotations) - len(cited)
        events += [OutputTextAnnotationAddedEvent(
            sequence_number=self._next(), item_id=b.message_id, output_index=self._index,
            content_index=content_index, annotation_index=first + i, annotation=annotation)
            for i, annotation in enumerate(cited)]
        return events

    def file_search_call(self) -> list[StreamEvent]:
        """The file search's item, through its states in order (it ran before the answer,
        so an unknown index was a plain 404 and not a failed stream)."""
        if self.builder.file_search is None:
            return []
        events = self._close()
        item = self.builder.file_search.item()
        self._index += 1
        events.append(OutputItemEvent(
            type="response.output_item.added", sequence_number=self._next(),
            output_index=self._index, item=replace(item, status="in_progress", results=None)))
        events += [FileSearchCallEvent(type=kind, sequence_number=self._next(),
                                       item_id=item.id, output_index=self._index)
                   for kind in ("response.file_search_call.in_progress",
                                "response.file_search_call.searching",
                                "response.file_search_call.completed")]
        events.append(OutputItemEvent(type="response.output_item.done",
                                      sequence_number=self._next(),
                                      output_index=self._index, item=item))
        return events

    def on_refusal(self, delta: RefusalDelta) -> list[StreamEvent]:
        events = self._open_message("refusal")
        self.builder.on_refusal(delta)
        events.append(RefusalDeltaEvent(
            sequence_number=self._next(), item_id=self.builder.message_id,
            output_index=self._index, content_index=self._parts.index("refusal"),
            delta=delta.text))
        return events

    def on_tool_call(self, delta: ToolCallDelta,
                     item_id: str | None = None) -> list[StreamEvent]:
        """A function call's item when it begins, then its arguments as they come."""
        item, began = self.builder.on_tool_call(delta, item_id)
        events: list[StreamEvent] = []
        if began:
            events += self._close()
            self._open, self._index = "call", self._index + 1
            self._call = item
            events.append(OutputItemEvent(
                type="response.output_item.added", sequence_number=self._next(),
                output_index=self._index, item=replace(item, arguments="")))
        if delta.arguments:
            events.append(FunctionCallArgumentsDeltaEvent(
                sequence_number=self._next(), item_id=item.id, output_index=self._index,
                delta=delta.arguments))
        return events

    def finish(self, final: ResponseObject) -> list[StreamEvent]:
        """Close what is open and end with the terminal event matching `final.status`."""
        # An answer with no text still has its message item, unless it is calls only.
        events = [] if self.builder.calls else self._open_message()
        status = final.status
        events += self._close("incomplete" if status == "incomplete" else "completed")
        terminal = {"completed": "response.completed", "incomplete": "response.incomplete",
                    "failed": "response.failed"}[status]
        events.append(ResponseStateEvent(type=terminal,  # type: ignore[arg-type]
                                         sequence_number=self._next(), response=final))
        return events

    def fail(self, final: ResponseObject) -> list[StreamEvent]:
        """End with `response.failed`, leaving open items as they are."""
        return [ResponseStateEvent(type="response.failed", sequence_number=self._next(),
                                   response=final)]

    def _open_message(self, kind: str = "text") -> list[StreamEvent]:
        """The message item open, with a content part of `kind` in it."""
        b = self.builder
        events: list[StreamEvent] = []
        if self._open != "message":
            events += self._close()
            self._open, self._index, self._parts = "message", self._index + 1, []
            events.append(OutputItemEvent(
                type="response.output_item.added", sequence_number=self._next(),
                output_index=self._index, item=b.message_item("in_progress")))
        if kind not in self._parts:
            part = OutputRefusalPart(refusal="") if kind == "refusal" else OutputTextPart(text="")
            events.append(ContentPartEvent(
                type="response.content_part.added", sequence_number=self._next(),
                item_id=b.message_id, output_index=self._index,
                content_index=len(self._parts), part=part))
            self._parts.append(kind)
        return events

    def _close(self, message_status: ItemStatus = "completed") -> list[StreamEvent]:
        b, i = self.builder, self._index
        events: list[StreamEvent] = []
        if self._open == "reasoning":
            text = b.reasoning or ""
            events.append(ReasoningSummaryTextDoneEvent(
                sequence_number=self._next(), item_id=b.reasoning_id, output_index=i,
                summary_index=0, text=text))
            events.append(ReasoningSummaryPartEvent(
                type="response.reasoning_summary_part.done", sequence_number=self._next(),
                item_id=b.reasoning_id, output_index=i, summary_index=0,
                part=SummaryText(text=text)))
            events.append(OutputItemEvent(type="response.output_item.done",
                                          sequence_number=self._next(), output_index=i,
                                          item=b.reasoning_item(done=True)))
        elif self._open == "message":
            for ci, kind in enumerate(self._parts):
                ids: dict[str, Any] = {"item_id": b.message_id, "output_index": i,
                                       "content_index": ci}
                if kind == "refusal":
                    events.append(RefusalDoneEvent(sequence_number=self._next(), **ids,
                                                   refusal=b.refusal or ""))
                else:
                    events.append(OutputTextDoneEvent(sequence_number=self._next(), **ids,
                                                      text=b.text or "",
                                                      logprobs=list(b.logprobs or ())))
                events.append(ContentPartEvent(type="response.content_part.done",
                                               sequence_number=self._next(), **ids,
                                               part=b.part(kind)))
            events.append(OutputItemEvent(type="response.output_item.done",
                                          sequence_number=self._next(), output_index=i,
                                          item=b.message_item(message_status)))
        elif self._open == "call" and self._call is not None:
            call = self._call
            events.append(FunctionCallArgumentsDoneEvent(
                sequence_number=self._next(), item_id=call.id, output_index=i, name=call.name,
                arguments=call.arguments))
            events.append(OutputItemEvent(type="response.output_item.done",
                                          sequence_number=self._next(), output_index=i,
                                          item=replace(call, status="completed")))
        self._open = None
        return events
