"""Builders of the Response object, its output items and its SSE events.

The order of events follows what the SDK stream helpers check (docs: OPENAI_COMPAT §1.3–1.4):
`response.created` (output `[]`), `response.in_progress`, then each item announced at its
`output_index` with one stable id, every part and item closed with its `.done` event, and
exactly one terminal event carrying the full output. The same `OutputBuilder` produces the
non-streamed output, so a streamed and a collected answer are the same object.
"""

from __future__ import annotations

from typing import Any

from app.api.responses.file_search import Output
from app.ids import new_id, new_ids
from app.matriz.contract import ToolCallDelta


class OutputBuilder:
    """Accumulates the reasoning summary and the answer into output items with stable ids."""

    def __init__(self, file_search: Output | None = None) -> None:
        self.file_search = file_search  # the search that ran before the answer, if any
        self.annotations: list[dict[str, Any]] = []  # the answer text's citations
        self.reasoning_id, self.message_id = new_ids("rs_", "msg_")
        self.reasoning: str | None = None
        self.text: str | None = None
        self.refusal: str | None = None
        self.parts: list[str] = []  # the message's content parts in the order begun
        self.logprobs: list[Any] | None = None  # the answer's, when asked for and given
        self.calls: list[dict[str, Any]] = []  # function_call items, in the order begun
        self._call_at: dict[int, int] = {}  # the provider's call index → position in calls

    def add_reasoning(self, delta: str) -> None:
        self.reasoning = (self.reasoning or "") + delta

    def add_text(self, delta: str, logprobs: list[Any] | None = None) -> list[dict[str, Any]]:
        """Fold a text delta (and its tokens' logprobs) in; the citations it completed."""
        if self.text is None:
            self.parts.append("text")
        self.text = (self.text or "") + delta
        if logprobs:
            self.logprobs = (self.logprobs or []) + logprobs
        cited = [] if self.file_search is None else self.file_search.cite(self.text)
        self.annotations += cited
        return cited

    def add_refusal(self, delta: str) -> None:
        if self.refusal is None:
            self.parts.append("refusal")
        self.refusal = (self.refusal or "") + delta

    def part(self, kind: str) -> dict[str, Any]:
        """The finished content part of `kind` ("text" or "refusal")."""
        if kind == "refusal":
            return refusal_part(self.refusal or "")
        return text_part(self.text or "", self.logprobs, self.annotations)

    def add_tool_call(self, delta: ToolCallDelta,
                      item_id: str | None = None) -> tuple[dict[str, Any], bool]:
        """Fold one call delta in; the call's item and whether it began with this delta."""
        at = self._call_at.get(delta.index)
        if at is None:
            self._call_at[delta.index] = len(self.calls)
            item = {"id": item_id or new_id("fc_"), "type": "function_call",
                    "status": "in_progress", "call_id": delta.call_id or new_id("call_"),
                    "name": delta.name or "", "arguments": delta.arguments}
            self.calls.append(item)
            return item, True
        item = self.calls[at]
        item["arguments"] += delta.arguments
        if delta.name and not item["name"]:
            item["name"] = delta.name
        return item, False

    def reasoning_item(self, *, done: bool) -> dict[str, Any]:
        summary = [summary_part(self.reasoning or "")] if done else []
        return {"id": self.reasoning_id, "type": "reasoning", "summary": summary,
                "status": "completed" if done else "in_progress"}

    def message_item(self, status: str) -> dict[str, Any]:
        content = [] if status == "in_progress" else (
            [self.part(kind) for kind in self.parts] or [text_part("")])
        return {"id": self.message_id, "type": "message", "status": status,
                "role": "assistant", "content": content}

    def items(self, message_status: str) -> list[dict[str, Any]]:
        """The finished output list: the file search, the reasoning, then the message."""
        out = [] if self.file_search is None else [self.file_search.item()]
        if self.reasoning is not None:
            out.append(self.reasoning_item(done=True))
        # An answer of calls only has no message.
        if self.text is not None or self.refusal is not None or not self.calls:
            out.append(self.message_item(message_status))
        out += [{**call, "status": "completed"} for call in self.calls]
        return out


def text_part(text: str, logprobs: list[Any] | None = None,
              annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": list(annotations or []),
            "logprobs": logprobs or []}


def refusal_part(refusal: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": refusal}


def summary_part(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def usage_object(input_tokens: int, output_tokens: int, reasoning_tokens: int,
                 cached_tokens: int = 0) -> dict[str, Any]:
    """Responses usage; detail fields always present, as strict clients validate them."""
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


class StreamEncoder:
    """Turns pipeline deltas into Responses SSE events with contiguous sequence numbers."""

    def __init__(self, builder: OutputBuilder) -> None:
        self.builder = builder
        self._seq = 0
        self._open: str | None = None  # "reasoning" | "message" | "call"
        self._index = -1
        self._call: dict[str, Any] | None = None  # the function call open, if one is
        self._parts: list[str] = []  # the open message's content parts, in order

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def start(self, snapshot: dict[str, Any]) -> list[dict[str, Any]]:
        """`response.created` and `response.in_progress`, both with an empty output."""
        return [self._event("response.created", response=snapshot),
                self._event("response.in_progress", response=snapshot)]

    def reasoning(self, delta: str) -> list[dict[str, Any]]:
        b = self.builder
        events = []
        if self._open != "reasoning":
            events += self._close()
            self._open, self._index = "reasoning", self._index + 1
            events.append(self._event("response.output_item.added", output_index=self._index,
                                      item=b.reasoning_item(done=False)))
            events.append(self._event("response.reasoning_summary_part.added",
                                      item_id=b.reasoning_id, output_index=self._index,
                                      summary_index=0, part=summary_part("")))
        b.add_reasoning(delta)
        events.append(self._event("response.reasoning_summary_text.delta",
                                  item_id=b.reasoning_id, output_index=self._index,
                                  summary_index=0, delta=delta))
        return events

    def text(self, delta: str, logprobs: list[Any] | None = None) -> list[dict[str, Any]]:
        """A piece of the answer's text, with its tokens' logprobs when asked for, then an
        annotation event for each citation it completed."""
        events = self._open_message("text")
        b = self.builder
        cited = b.add_text(delta, logprobs)
        ids = {"item_id": b.message_id, "output_index": self._index,
               "content_index": self._parts.index("text")}
        events.append(self._event("response.output_text.delta", **ids, delta=delta,
                                  logprobs=logprobs or []))
        first = len(b.annotations) - len(cited)
        events += [self._event("response.output_text.annotation.added", **ids,
                               annotation_index=first + i, annotation=annotation)
                   for i, annotation in enumerate(cited)]
        return events

    def file_search_call(self) -> list[dict[str, Any]]:
        """The file search's item, through its states in order (it ran before the answer,
        so an unknown index was a plain 404 and not a failed stream)."""
        if self.builder.file_search is None:
            return []
        events = self._close()
        item = self.builder.file_search.item()
        self._index += 1
        ids = {"item_id": item["id"], "output_index": self._index}
        events.append(self._event("response.output_item.added", output_index=self._index,
                                  item={**item, "status": "in_progress", "results": None}))
        events += [self._event(f"response.file_search_call.{state}", **ids)
                   for state in ("in_progress", "searching", "completed")]
        events.append(self._event("response.output_item.done", output_index=self._index,
                                  item=item))
        return events

    def refusal(self, delta: str) -> list[dict[str, Any]]:
        events = self._open_message("refusal")
        self.builder.add_refusal(delta)
        events.append(self._event("response.refusal.delta", item_id=self.builder.message_id,
                                  output_index=self._index,
                                  content_index=self._parts.index("refusal"), delta=delta))
        return events

    def tool_call(self, delta: ToolCallDelta,
                  item_id: str | None = None) -> list[dict[str, Any]]:
        """A function call's item when it begins, then its arguments as they come."""
        item, began = self.builder.add_tool_call(delta, item_id)
        events = []
        if began:
            events += self._close()
            self._open, self._index = "call", self._index + 1
            self._call = item
            events.append(self._event("response.output_item.added", output_index=self._index,
                                      item={**item, "arguments": ""}))
        if delta.arguments:
            events.append(self._event("response.function_call_arguments.delta",
                                      item_id=item["id"], output_index=self._index,
                                      delta=delta.arguments))
        return events

    def finish(self, final: dict[str, Any]) -> list[dict[str, Any]]:
        """Close what is open and end with the terminal event matching `final["status"]`."""
        # An answer with no text still has its message item, unless it is calls only.
        events = [] if self.builder.calls else self._open_message()
        status = final["status"]
        events += self._close("incomplete" if status == "incomplete" else "completed")
        terminal = {"completed": "response.completed", "incomplete": "response.incomplete",
                    "failed": "response.failed"}[status]
        events.append(self._event(terminal, response=final))
        return events

    def fail(self, final: dict[str, Any]) -> list[dict[str, Any]]:
        """End with `response.failed`, leaving open items as they are."""
        return [self._event("response.failed", response=final)]

    def _open_message(self, kind: str = "text") -> list[dict[str, Any]]:
        """The message item open, with a content part of `kind` in it."""
        b = self.builder
        events = []
        if self._open != "message":
            events += self._close()
            self._open, self._index, self._parts = "message", self._index + 1, []
            events.append(self._event("response.output_item.added", output_index=self._index,
                                      item=b.message_item("in_progress")))
        if kind not in self._parts:
            events.append(self._event(
                "response.content_part.added", item_id=b.message_id, output_index=self._index,
                content_index=len(self._parts),
                part=refusal_part("") if kind == "refusal" else text_part("")))
            self._parts.append(kind)
        return events

    def _close(self, message_status: str = "completed") -> list[dict[str, Any]]:
        b, i = self.builder, self._index
        events = []
        if self._open == "reasoning":
            text = b.reasoning or ""
            ids = {"item_id": b.reasoning_id, "output_index": i, "summary_index": 0}
            events.append(self._event("response.reasoning_summary_text.done", **ids, text=text))
            events.append(self._event("response.reasoning_summary_part.done", **ids,
                                      part=summary_part(text)))
            events.append(self._event("response.output_item.done", output_index=i,
                                      item=b.reasoning_item(done=True)))
        elif self._open == "message":
            for ci, kind in enumerate(self._parts):
                ids = {"item_id": b.message_id, "output_index": i, "content_index": ci}
                if kind == "refusal":
                    events.append(self._event("response.refusal.done", **ids,
                                              refusal=b.refusal or ""))
                else:
                    events.append(self._event("response.output_text.done", **ids,
                                              text=b.text or "", logprobs=b.logprobs or []))
                events.append(self._event("response.content_part.done", **ids,
                                          part=b.part(kind)))
            events.append(self._event("response.output_item.done", output_index=i,
                                      item=b.message_item(message_status)))
        elif self._open == "call" and self._call is not None:
            call = self._call
            events.append(self._event("response.function_call_arguments.done",
                                      item_id=call["id"], output_index=i, name=call["name"],
                                      arguments=call["arguments"]))
            events.append(self._event("response.output_item.done", output_index=i,
                                      item={**call, "status": "completed"}))
        self._open = None
        return events
