"""From Responses input (a string or items) to stored input items and conversation turns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.api.files import AttachedFile
from app.api.responses.file_search import RESULTS, input_turn
from app.api.responses.protocol import (
    CompactionItem,
    FileSearchCallItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputText,
    ItemReference,
    MessageItem,
    OutputText,
    Refusal,
    ResponseCreateRequest,
)
from app.api.runs import Flattener, read_content
from app.core.turns import Turn
from app.errors import InvalidRequest
from app.ids import new_id
from app.matriz.toolturns import call_turn, output_turn
from app.memory.compaction import SOURCE as COMPACTION_SOURCE
from app.memory.compaction import Expansion

LOGPROBS_INCLUDE = "message.output_text.logprobs"


@dataclass(slots=True)
class ConvertedInput:
    items: list[dict[str, Any]]  # as stored and listed by input_items, each with an id
    history: list[Turn]  # earlier turns given in this input (calls included), oldest first
    question: str  # the text of the last user message
    system: list[str]  # system/developer messages, joined into the instructions
    # The question's content parts in the chat shape, when it carries images or files (only
    # with `media`: a routed model gets them, as it gets an earlier turn's `parts`; the
    # built-in one reads text only).
    question_parts: list[dict[str, Any]] | None = None
    question_source: str = ""  # the question's turn source
    # The turns of the files attached to the question, read as text (with `files`).
    attachments: list[Turn] = field(default_factory=list)


# A source that already says where it came from: an id (`resp_…`, `cmpr_…`) or a compaction.
_NAMED = re.compile(rf"[a-z]+_[0-9a-f]{{16,}} |{re.escape(COMPACTION_SOURCE)}")


def stored_source(response_id: str, source: str) -> str:
    """A turn's source as stored: the input's own turns (its items, the files they carry) are
    named after the response that got them; the turns of an expanded compaction keep the
    sources they had (they name their response or window, or the compaction)."""
    return source if _NAMED.match(source) else f"{response_id} {source}"


def _media_part(part: InputImage | InputFile, where: str) -> dict[str, Any]:
    """An image or file part in the chat shape (by URL or inline data; file ids have no
    Files API here to resolve them)."""
    if isinstance(part, InputImage) and part.image_url:
        image = {"url": part.image_url, **({"detail": part.detail} if part.detail else {})}
        return {"type": "image_url", "image_url": image}
    if isinstance(part, InputFile) and part.file_data:
        file = {"file_data": part.file_data,
                **({"filename": part.filename} if part.filename else {})}
        return {"type": "file", "file": file}
    needed = "image_url" if isinstance(part, InputImage) else "file_data"
    raise InvalidRequest(f"'{part.type}' needs '{needed}': file ids are not supported.",
                         param=f"{where}.{needed}", code="unsupported_content")


class _Parts:
    """Responses' content parts (typed) as `read_content` reads them."""

    @staticmethod
    def text(part: Any) -> str | None:
        if isinstance(part, InputText | OutputText):
            return part.text
        return part.refusal if isinstance(part, Refusal) else None

    @staticmethod
    def is_file(part: Any) -> bool:
        return isinstance(part, InputFile)

    @staticmethod
    def kind(part: Any) -> str:
        return str(part.type)

    @staticmethod
    def chat_part(part: Any, where: str) -> dict[str, Any]:
        return _media_part(part, where)


_MEDIA_ROLES = ("user",)  # chat, which a routed model speaks, has no other place for them


def _stored_message(item: MessageItem, text_: str) -> dict[str, Any]:
    if item.role == "assistant":
        content: list[dict[str, Any]] = [
            {"type": "output_text", "text": text_, "annotations": []}
        ]
    else:
        content = [{"type": "input_text", "text": text_}]
    return {"id": item.id or new_id("msg_"), "type": "message", "role": item.role,
            "content": content, "status": item.status or "completed"}


def convert_input(req: ResponseCreateRequest, media: bool = False,
                  window: Expansion | None = None,
                  files: Mapping[str, AttachedFile] | None = None) -> ConvertedInput:
    """Validate and flatten the request's input; the last user message is the question.

    With `media` (a routed model), image and file parts of user messages are allowed: kept
    in the stored items and in each turn's `parts`, the question's in `question_parts`. With
    `window`, the input's compaction items (opened by `app.api.responses.compact`) add their
    turns, and the items they kept get back their sources. With `files` (the built-in model),
    the files read from the input: each becomes a user turn of its text, just before its
    message's own, and is kept in the stored items."""
    if isinstance(req.input, str):
        if not req.input.strip():
            raise InvalidRequest("'input' must not be empty.", param="input",
                                 code="empty_input")
        item = MessageItem(role="user", content=req.input)
        return ConvertedInput([_stored_message(item, req.input)], [], req.input, [],
                              question_source="input 1")
    if not req.input:
        raise InvalidRequest("'input' must hold at least one item.", param="input",
                             code="empty_input")
    items: list[dict[str, Any]] = []
    flat = Flattener()
    for i, entry in enumerate(req.input):
        source = f"input {i + 1}"
        if window is not None:
            for turn in window.before.get(i, ()):
                flat.turn(turn)
            source = window.sources.get(i, source)
        if isinstance(entry, ItemReference):
            raise InvalidRequest("Item references are not supported; send the item itself.",
                                 param=f"input[{i}]", code="unsupported_item")
        if isinstance(entry, CompactionItem) and window is None:
            raise InvalidRequest("Compaction items are not supported here.",
                                 param=f"input[{i}]", code="unsupported_item")
        if isinstance(entry, MessageItem):
            content = read_content(entry.content, f"input[{i}].content", _Parts(),
                                   role=entry.role, media=media, media_roles=_MEDIA_ROLES,
                                   files=files)
            stored_message = _stored_message(entry, content.text)
            if content.parts or content.read:
                assert isinstance(entry.content, list)
                stored_message["content"] = [p.model_dump(exclude_none=True)
                                             for p in entry.content]
            items.append(stored_message)
            flat.message(entry.role, content, source)
        else:
            stored = entry.model_dump(exclude_none=True)
            stored.setdefault("id", new_id("fc_" if entry.type == "function_call" else "item_"))
            items.append(stored)
            # Calls and their outputs are turns too: a routed model reads them.
            if isinstance(entry, FunctionCallItem):
                flat.turn(call_turn(entry.call_id, entry.name, entry.arguments, source))
            elif isinstance(entry, FunctionCallOutputItem):
                flat.turn(output_turn(entry.call_id, entry.output, source))
            elif isinstance(entry, FileSearchCallItem):
                flat.turn(input_turn(entry, source))
    conversation = flat.done()
    if not conversation.question.strip() and not conversation.question_parts and \
            not any(t.role in ("user", "assistant") for t in conversation.history) and \
            not any(isinstance(e, FunctionCallOutputItem) for e in req.input):
        raise InvalidRequest("'input' must contain a non-empty user message.", param="input",
                             code="empty_input")
    return ConvertedInput(items, conversation.history, conversation.question,
                          conversation.system, conversation.question_parts,
                          conversation.question_source, conversation.attachments)


def requested_logprobs(req: ResponseCreateRequest) -> int | None:
    """How many alternatives a token the caller wants logprobs with (`include` names them,
    or `top_logprobs` is given), else None; an `include` value other than those and the file
    search's results is a 400 naming it."""
    for i, entry in enumerate(req.include or ()):
        if entry not in (LOGPROBS_INCLUDE, RESULTS):
            raise InvalidRequest(f"'include' value '{entry}' is not supported for the model "
                                 f"'{req.model}'.", param=f"include[{i}]",
                                 code="unsupported_parameter")
    if LOGPROBS_INCLUDE not in (req.include or ()) and req.top_logprobs is None:
        return None
    return req.top_logprobs or 0
