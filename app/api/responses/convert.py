"""From Responses input (a string or items) to stored input items and conversation turns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.api.files import AttachedFile
from app.api.responses.protocol import (
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
from app.errors import InvalidRequest
from app.ids import new_id
from app.matriz.nodes import Turn
from app.matriz.toolturns import call_turn, output_turn


@dataclass(slots=True)
class ConvertedInput:
    items: list[dict[str, Any]]  # as stored and listed by input_items, each with an id
    history: list[Turn]  # earlier turns given in this input (calls included), oldest first
    question: str  # the text of the last user message
    system: list[str]  # system/developer messages, joined into the instructions
    # The question's content parts in the chat shape, when it carries images or files (only
    # with `media`: a routed model passes them on; the built-in one reads files as text).
    question_parts: list[dict[str, Any]] | None = None
    # The turns of the files attached to the question, read as text (with `files`).
    attachments: list[Turn] = field(default_factory=list)


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
    field = "image_url" if isinstance(part, InputImage) else "file_data"
    raise InvalidRequest(f"'{part.type}' needs '{field}': file ids are not supported.",
                         param=f"{where}.{field}", code="unsupported_content")


def _message_text(item: MessageItem, index: int,
                  media: list[dict[str, Any]] | None = None,
                  files: Mapping[str, AttachedFile] | None = None,
                  read: list[AttachedFile] | None = None) -> str:
    """The message's text; with `media`, its images and files go there (chat shape); with
    `files` (read by `app.api.files`), its files' texts go to `read`."""
    if isinstance(item.content, str):
        return item.content
    texts = []
    for j, part in enumerate(item.content):
        if isinstance(part, InputText | OutputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            texts.append(part.refusal)
        elif isinstance(part, InputImage | InputFile) and media is not None:
            media.append(_media_part(part, f"input[{index}].content[{j}]"))
        elif isinstance(part, InputFile) and files is not None and read is not None:
            read.append(files[f"input[{index}].content[{j}]"])
        elif isinstance(part, InputImage | InputFile):
            raise InvalidRequest(
                f"The model reads text and files only; '{part.type}' is not supported.",
                param=f"input[{index}].content[{j}]", code="unsupported_content",
            )
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
                  files: Mapping[str, AttachedFile] | None = None) -> ConvertedInput:
    """Validate and flatten the request's input; the last user message is the question.

    With `media`, image and file parts are allowed: kept in the stored items, and those of
    the question passed on in `question_parts` (earlier turns keep their text only). With
    `files`, the files read from the input: each becomes a user turn of its text, just
    before its message's own, and is kept in the stored items."""
    if isinstance(req.input, str):
        if not req.input.strip():
            raise InvalidRequest("'input' must not be empty.", param="input",
                                 code="empty_input")
        item = MessageItem(role="user", content=req.input)
        return ConvertedInput([_stored_message(item, req.input)], [], req.input, [])
    if not req.input:
        raise InvalidRequest("'input' must hold at least one item.", param="input",
                             code="empty_input")
    items: list[dict[str, Any]] = []
    turns: list[Turn] = []
    system: list[str] = []
    last_media: list[dict[str, Any]] = []
    media_at: list[int] = []  # the messages that carry images or files
    last_user_at = -1
    attachments: list[Turn] = []
    for i, entry in enumerate(req.input):
        if isinstance(entry, ItemReference):
            raise InvalidRequest("Item references are not supported; send the item itself.",
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
            if found:
                media_at.append(i)
            attached = [Turn("user", f.text, f.name, file=f.name) for f in read]
            if entry.role == "user":
                last_media, last_user_at, attachments = found or [], i, attached
            if entry.role in ("system", "developer"):
                system.append(text_)
            else:
                turns += [*attached, Turn(entry.role, text_, f"input {i + 1}")]
        else:
            stored = entry.model_dump(exclude_none=True)
            stored.setdefault("id", new_id("fc_" if entry.type == "function_call" else "item_"))
            items.append(stored)
            # Calls and their outputs are turns too: a routed model reads them.
            if isinstance(entry, FunctionCallItem):
                turns.append(call_turn(entry.call_id, entry.name, entry.arguments,
                                       f"input {i + 1}"))
            elif isinstance(entry, FunctionCallOutputItem):
                turns.append(output_turn(entry.call_id, entry.output, f"input {i + 1}"))
    asked = bool(turns) and turns[-1].role == "user"
    question_at = last_user_at if asked else -1
    for i in media_at:
        if i != question_at:  # a turn keeps its text only: its images would be lost
            raise InvalidRequest("Images and files may be sent in the last user message only.",
                                 param=f"input[{i}].content", code="unsupported_content")
    question = turns.pop().text if asked else ""
    parts = None
    if asked and last_media:
        parts = [*([{"type": "text", "text": question}] if question else []), *last_media]
    if not question.strip() and not parts and \
            not any(t.role in ("user", "assistant") for t in turns) and \
            not any(isinstance(e, FunctionCallOutputItem) for e in req.input):
        raise InvalidRequest("'input' must contain a non-empty user message.", param="input",
                             code="empty_input")
    return ConvertedInput(items, turns, question, system, parts,
                          attachments if asked else [])
