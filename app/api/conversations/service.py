"""The Conversations service: an owner's conversations and their items, in PostgreSQL.

A response made in a conversation reads its items as its earlier input and appends its own
input and output items when it completes (`app.memory.threads`); this module owns the API
over them, and what `conversation` on a Responses request may be.
"""

from __future__ import annotations

from typing import Any

from app.api.conversations.protocol import (
    ConversationCreate,
    ConversationUpdate,
    ItemsCreate,
    ItemsQuery,
)
from app.api.listing import list_page
from app.api.responses.protocol import (
    FunctionCallItem,
    FunctionCallOutputItem,
    InputFile,
    InputImage,
    InputItem,
    ItemReference,
    MessageItem,
    OutputText,
)
from app.db.repositories import conversations as repo
from app.errors import InvalidRequest, NotFound
from app.identity.base import Identity
from app.ids import new_id, ordered_ids

CONVERSATION_PREFIX = "conv_"
# The id each kind of item gets, and the prefix an id given with it must have.
_PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_",
             "reasoning": "rs_"}
_CHECKED_PREFIXES = ("message", "function_call", "reasoning")
MAX_ITEM_ID = 256  # characters: an id is a key of the conversation's index


def check_item_ids(items: list[dict[str, Any]], param: str) -> None:
    """Every item id short enough to be kept in a conversation."""
    for i, item in enumerate(items):
        if len(item["id"]) > MAX_ITEM_ID:
            raise InvalidRequest(f"An item id may be at most {MAX_ITEM_ID} characters.",
                                 param=f"{param}[{i}].id", code="invalid_value")


def conversation_of(conversation: str | dict[str, Any] | None,
                    previous_response_id: str | None, session_id: str | None) -> str | None:
    """The id of the conversation a Responses request names (a string or `{"id": ...}`),
    checked for its form; its owner is checked when its items are read."""
    if conversation is None:
        return None
    if previous_response_id is not None:
        raise InvalidRequest("Mutually exclusive parameters. Ensure you are only providing "
                             "one of: 'previous_response_id' or 'conversation'.",
                             code="mutually_exclusive_parameters")
    if isinstance(conversation, dict):
        if set(conversation) != {"id"} or not isinstance(conversation["id"], str):
            raise InvalidRequest("'conversation' must be a conversation id or an object "
                                 "{\"id\": \"conv_...\"}.", param="conversation",
                                 code="invalid_value")
        conversation = conversation["id"]
    if not conversation.startswith(CONVERSATION_PREFIX):
        raise InvalidRequest(f"Invalid 'conversation': '{conversation}'. Expected an ID that "
                             "begins with 'conv'.", param="conversation", code="invalid_value")
    if session_id is not None:
        raise InvalidRequest("A conversation keeps its own history: send either "
                             "'conversation' or the x-lukhas-session header.",
                             param="x-lukhas-session", code="mutually_exclusive_parameters")
    return conversation


def stored_items(entries: list[InputItem], param: str = "items") -> list[dict[str, Any]]:
    """Items as a conversation keeps them: each with its id (the one given, or a new one)
    and a status; a message's content as parts."""
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        where = f"{param}[{i}]"
        if isinstance(entry, ItemReference):
            raise InvalidRequest("Item references are not supported; send the item itself.",
                                 param=where, code="unsupported_item")
        prefix = _PREFIXES.get(entry.type)
        if prefix is None:  # a file search's or a compaction's item belongs to a response
            raise InvalidRequest(f"Items of type '{entry.type}' cannot be added to a "
                                 "conversation.", param=f"{where}.type", code="unsupported_item")
        if entry.id is not None and entry.type in _CHECKED_PREFIXES and \
                not entry.id.startswith(prefix):
            raise InvalidRequest(f"Invalid '{where}.id': '{entry.id}'. Expected an ID that "
                                 f"begins with '{prefix[:-1]}'.", param=f"{where}.id",
                                 code="invalid_value")
        if isinstance(entry, MessageItem):
            item = _message(entry, where)
        else:
            item = entry.model_dump(exclude_none=True)
            if isinstance(entry, FunctionCallItem | FunctionCallOutputItem):
                item["status"] = "completed"
        item["id"] = entry.id or new_id(prefix)
        out.append(item)
    check_item_ids(out, param)
    return out


def _message(entry: MessageItem, where: str) -> dict[str, Any]:
    assistant = entry.role == "assistant"
    if isinstance(entry.content, str):
        part: dict[str, Any] = {"type": "output_text" if assistant else "input_text",
                                "text": entry.content}
        if assistant:
            part["annotations"] = []
        content = [part]
    else:
        content = []
        for j, given in enumerate(entry.content):
            if isinstance(given, InputImage | InputFile):
                raise InvalidRequest(
                    f"Conversation items hold text here; '{given.type}' may be sent in the "
                    "input of a response instead.", param=f"{where}.content[{j}]",
                    code="unsupported_content")
            dumped = given.model_dump(exclude_none=True)
            if isinstance(given, OutputText):
                dumped["annotations"] = given.annotations
            content.append(dumped)
    return {"type": "message", "role": entry.role, "content": content,
            "status": entry.status or "completed"}


def _conversation(row: repo.ConversationRow) -> dict[str, Any]:
    return {"id": row.id, "object": "conversation", "created_at": row.created_at,
            "metadata": row.metadata}


def _not_found(conversation_id: str) -> NotFound:
    return NotFound(f"Conversation with id '{conversation_id}' not found.",
                    param="conversation_id", code="conversation_not_found")


def _duplicate(exc: repo.DuplicateItem) -> InvalidRequest:
    return InvalidRequest(f"Item '{exc.item_id}' already in conversation.", param="items",
                          code="item_already_in_conversation")


class ConversationsService:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(self, identity: Identity, req: ConversationCreate) -> dict[str, Any]:
        """A new conversation of the caller's, with its first items."""
        items = stored_items(req.items or [])
        cid = ordered_ids(CONVERSATION_PREFIX, 1)[0]
        async with self._pool.acquire() as conn:
            try:
                row = await repo.create(conn, id=cid, owner=identity.subject,
                                        metadata=req.metadata or {}, items=items)
            except repo.DuplicateItem as exc:
                raise _duplicate(exc) from None
        return _conversation(row)

    async def get(self, identity: Identity, conversation_id: str) -> dict[str, Any]:
        """A conversation of the caller's, or 404."""
        async with self._pool.acquire() as conn:
            row = await repo.get(conn, identity.subject, conversation_id)
        if row is None:
            raise _not_found(conversation_id)
        return _conversation(row)

    async def update(self, identity: Identity, conversation_id: str,
                     req: ConversationUpdate) -> dict[str, Any]:
        """Replace a conversation's metadata."""
        async with self._pool.acquire() as conn:
            row = await repo.update_metadata(conn, identity.subject, conversation_id,
                                             req.metadata or {})
        if row is None:
            raise _not_found(conversation_id)
        return _conversation(row)

    async def delete(self, identity: Identity, conversation_id: str) -> dict[str, Any]:
        """Delete a conversation and its items."""
        async with self._pool.acquire() as conn:
            deleted = await repo.delete(conn, identity.subject, conversation_id)
        if not deleted:
            raise _not_found(conversation_id)
        return {"id": conversation_id, "object": "conversation.deleted", "deleted": True}

    async def list_items(self, identity: Identity, conversation_id: str,
                         query: ItemsQuery) -> dict[str, Any]:
        """One page of a conversation's items (cursor pagination, newest first by default)."""
        async with self._pool.acquire() as conn:
            try:
                page = await repo.page(conn, identity.subject, conversation_id,
                                       after=query.after, limit=query.limit,
                                       order=query.order)
            except repo.UnknownCursor:
                raise NotFound(f"No item found with id '{query.after}'.", param="after",
                               code="item_not_found") from None
        if page is None:
            raise _not_found(conversation_id)
        return list_page(page.items, page.has_more)

    async def add_items(self, identity: Identity, conversation_id: str,
                        req: ItemsCreate) -> dict[str, Any]:
        """Append items to a conversation; the items as added."""
        items = stored_items(req.items)
        async with self._pool.acquire() as conn:
            try:
                added = await repo.append(conn, identity.subject, conversation_id, items)
            except repo.DuplicateItem as exc:
                raise _duplicate(exc) from None
        if not added:
            raise _not_found(conversation_id)
        return list_page(items, False)

    async def get_item(self, identity: Identity, conversation_id: str,
                       item_id: str) -> dict[str, Any]:
        """One item of a conversation."""
        async with self._pool.acquire() as conn:
            item = await repo.get_item(conn, identity.subject, conversation_id, item_id)
            if item is None:
                await self._owned(conn, identity, conversation_id)
                raise _item_not_found(item_id)
        return item

    async def delete_item(self, identity: Identity, conversation_id: str,
                          item_id: str) -> dict[str, Any]:
        """Delete one item; the conversation it was in."""
        async with self._pool.acquire() as conn:
            deleted = await repo.delete_item(conn, identity.subject, conversation_id, item_id)
            row = await self._owned(conn, identity, conversation_id)
        if not deleted:
            raise _item_not_found(item_id)
        return _conversation(row)

    async def _owned(self, conn: Any, identity: Identity,
                     conversation_id: str) -> repo.ConversationRow:
        row = await repo.get(conn, identity.subject, conversation_id)
        if row is None:
            raise _not_found(conversation_id)
        return row


def _item_not_found(item_id: str) -> NotFound:
    return NotFound(f"Item with id '{item_id}' not found.", param="item_id",
                    code="item_not_found")
