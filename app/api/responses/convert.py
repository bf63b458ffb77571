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


def _message_text(item: MessageItem, index: int,
                  media: list[dict[str, Any]] | None = None,
                  files: Mapping[str, AttachedFile] | None = None,
                  read: list[AttachedFile] | None = None) -> str:
    """The message's text; with `media` (a routed model), its content parts in the chat shape
    go there, in order, when it has an image or a file (a user message only: chat has no
    other place for them); with `files` (the built-in model; read by `app.api.files`), its
    files' texts go to `read`; otherwise an image or a file is the 400 of a text-only model."""
    if isinstance(item.content, str):
        return item.content
    texts = []
    parts: list[dict[str, Any]] = []
    has_media = False
    for j, part in enumerate(item.content):
        if isinstance(part, InputText | OutputText):
            texts.append(part.text)
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, Refusal):
            texts.append(part.refusal)
            parts.append({"type": "text", "text": part.refusal})
        elif media is None and isinstance(part, InputFile) and files is not None \
                and read is not None:
            read.append(files[f"input[{index}].content[{j}]"])
        elif media is None:
            raise InvalidRequest(
                f"The model reads text and files only; '{part.type}' is not supported.",
                param=f"input[{index}].content[{j}]", code="unsupported_content",
            )
        elif item.role != "user":
            raise InvalidRequest(
                f"'{part.type}' may be sent in user messages only, not in a '{item.role}' "
                "message.", param=f"input[{index}].content[{j}]", code="unsupported_content")
        else:
            has_media = True
            parts.append(_media_part(part, f"input[{index}].content[{j}]"))
    if has_media and media is not None:
        media += parts
    return "\n".join(texts)


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
    turns: list[Turn] = []
    system: list[str] = []
    attachments: list[Turn] = []  # the files of the last user message
    for i, entry in enumerate(req.input):
        source = f"input {i + 1}"
        if window is not None:
            turns.extend(window.before.get(i, ()))
            source = window.sources.get(i, source)
        if isinstance(entry, ItemReference):
            raise InvalidRequest("Item references are not supported; send the item itself.",
                                 param=f"input[{i}]", code="unsupported_item")
        if isinstance(entry, CompactionItem) and window is None:
            raise InvalidRequest("Compaction items are not supported here.",
                                 param=f"input[{i}]", code="unsupported_item")
        if isinstance(entry, MessageItem):
            found: list[dict[str, Any]] | None = [] if media else None
            read: list[AttachedFile] = []
            text_ = _message_text(entry, i, found, files, read)
            stored_message = _stored_message(entry, text_)
            if found or read:
                assert isinstance(entry.content, list)
                stored_message["content"] = [p.model_dump(exclude_none=True)
                                             for p in entry.content]
            items.append(stored_message)
            attached = [Turn("user", f.text, f.name, file=f.name) for f in read]
            if entry.role == "user":
                attachments = attached
            if entry.role in ("system", "developer"):
                system.append(text_)
            else:
                turns += [*attached, Turn(entry.role, text_, source, tuple(found or ()))]
        else:
            stored = entry.model_dump(exclude_none=True)
            stored.setdefault("id", new_id("fc_" if entry.type == "function_call" else "item_"))
            items.append(stored)
            # Calls and their outputs are turns too: a routed model reads them.
            if isinstance(entry, FunctionCallItem):
                turns.append(call_turn(entry.call_id, entry.name, entry.arguments, source))
            elif isinstance(entry, FunctionCallOutputItem):
                turns.append(output_turn(entry.call_id, entry.output, source))
            elif isinstance(entry, FileSearchCallItem):
                turns.append(input_turn(entry, source))
    asked = bool(turns) and turns[-1].role == "user"
    last = turns.pop() if asked else None
    question = last.text if last is not None else ""
    parts = list(last.parts) if last is not None and last.parts else None
    if not question.strip() and not parts and \
            not any(t.role in ("user", "assistant") for t in turns) and \
            not any(isinstance(e, FunctionCallOutputItem) for e in req.input):
        raise InvalidRequest("'input' must contain a non-empty user message.", param="input",
                             code="empty_input")
    return ConvertedInput(items, turns, question, system, parts,
                          last.source if last is not None else "",
                          attachments if last is not None else [])


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
