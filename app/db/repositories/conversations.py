"""SQL for conversations and their items. Every query is scoped to the owner: another
caller's conversation is as absent as one that never was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The conversation, with its owner checked, for the item queries to join.
_OWNED = "SELECT id FROM conversations WHERE id = $1 AND owner = $2"


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: str
    metadata: dict[str, str]
    created_at: int  # Unix seconds


class DuplicateItem(Exception):
    """An item id already in the conversation (or twice in one append)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(item_id)
        self.item_id = item_id


_COLUMNS = "id, metadata, extract(epoch FROM created_at)::bigint AS created_at"


def _row(row: Any) -> ConversationRow:
    return ConversationRow(row["id"], row["metadata"], row["created_at"])


async def create(conn: Any, *, id: str, owner: str, metadata: dict[str, str],
                 items: list[dict[str, Any]]) -> ConversationRow:
    """A new conversation holding `items` (each with its id), in one transaction."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"INSERT INTO conversations (id, owner, metadata) VALUES ($1, $2, $3) "
            f"RETURNING {_COLUMNS}", id, owner, metadata)
        await _insert(conn, id, items, skip_existing=False)
    return _row(row)


async def get(conn: Any, owner: str, id: str) -> ConversationRow | None:
    """One conversation of `owner`, or None."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM conversations WHERE id = $1 AND owner = $2", id, owner)
    return None if row is None else _row(row)


async def update_metadata(conn: Any, owner: str, id: str,
                          metadata: dict[str, str]) -> ConversationRow | None:
    """Replace the metadata of `owner`'s conversation; None if there is none."""
    row = await conn.fetchrow(
        f"UPDATE conversations SET metadata = $3 WHERE id = $1 AND owner = $2 "
        f"RETURNING {_COLUMNS}", id, owner, metadata)
    return None if row is None else _row(row)


async def delete(conn: Any, owner: str, id: str) -> bool:
    """Delete `owner`'s conversation and its items; False if there was none."""
    status: str = await conn.execute(
        "DELETE FROM conversations WHERE id = $1 AND owner = $2", id, owner)
    return status.endswith(" 1")


async def delete_owner(conn: Any, owner: str) -> int:
    """Delete every conversation of `owner` (and their items); return how many."""
    status: str = await conn.execute("DELETE FROM conversations WHERE owner = $1", owner)
    return int(status.split()[-1])


async def append(conn: Any, owner: str, id: str, items: list[dict[str, Any]], *,
                 skip_existing: bool = False) -> bool:
    """Add `items` after the conversation's last, in order; False if `owner` has no such
    conversation. An id already there raises `DuplicateItem`, or with `skip_existing` is
    left as it is (the item is in the conversation already)."""
    async with conn.transaction():
        # One append at a time per conversation (its items stay together), and a delete of
        # the conversation waits for it.
        found = await conn.fetchval(_OWNED + " FOR NO KEY UPDATE", id, owner)
        if found is None:
            return False
        await _insert(conn, id, items, skip_existing=skip_existing)
    return True


async def _insert(conn: Any, conversation_id: str, items: list[dict[str, Any]], *,
                  skip_existing: bool) -> None:
    if not items:
        return
    ids = [item["id"] for item in items]
    if skip_existing:
        conflict = " ON CONFLICT (conversation_id, id) DO NOTHING"
    else:
        conflict = ""
        seen: set[str] = set()
        for item_id in ids:
            if item_id in seen:
                raise DuplicateItem(item_id)
            seen.add(item_id)
        taken = await conn.fetchval(
            "SELECT id FROM conversation_items WHERE conversation_id = $1 AND id = ANY($2)"
            " LIMIT 1", conversation_id, ids)
        if taken is not None:
            raise DuplicateItem(taken)
    # One row per statement, in order: the identity gives each the next `seq`. The check
    # above holds: appends to one conversation run one at a time (`append` locks it).
    await conn.executemany(
        "INSERT INTO conversation_items (conversation_id, id, item) VALUES ($1, $2, $3)"
        + conflict, [(conversation_id, item["id"], item) for item in items])


async def items(conn: Any, owner: str, id: str) -> list[dict[str, Any]] | None:
    """Every item of `owner`'s conversation, oldest first; None if there is none."""
    # One statement (one snapshot, one round trip): the conversation, then its items.
    rows = await conn.fetch(
        "SELECT i.item FROM conversations c LEFT JOIN conversation_items i"
        " ON i.conversation_id = c.id WHERE c.id = $1 AND c.owner = $2 ORDER BY i.seq",
        id, owner)
    if not rows:
        return None
    return [row["item"] for row in rows if row["item"] is not None]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    has_more: bool


class UnknownCursor(Exception):
    """`after` names no item of the conversation."""


async def page(conn: Any, owner: str, id: str, *, after: str | None, limit: int,
               order: Literal["asc", "desc"]) -> Page | None:
    """Up to `limit` items after the item `after` (exclusive) in `order`; None if `owner`
    has no such conversation."""
    direction, compare = ("ASC", ">") if order == "asc" else ("DESC", "<")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await conn.fetchval(_OWNED, id, owner) is None:
            return None
        cursor = None
        if after is not None:
            cursor = await conn.fetchval(
                "SELECT seq FROM conversation_items WHERE conversation_id = $1 AND id = $2",
                id, after)
            if cursor is None:
                raise UnknownCursor(after)
        rows = await conn.fetch(
            "SELECT item FROM conversation_items WHERE conversation_id = $1"
            f" AND ($2::bigint IS NULL OR seq {compare} $2) ORDER BY seq {direction} LIMIT $3",
            id, cursor, limit + 1)
    found = [row["item"] for row in rows]
    return Page(found[:limit], len(found) > limit)


async def get_item(conn: Any, owner: str, id: str, item_id: str) -> dict[str, Any] | None:
    """One item of `owner`'s conversation, or None."""
    item: dict[str, Any] | None = await conn.fetchval(
        f"SELECT item FROM conversation_items WHERE conversation_id = ({_OWNED}) AND id = $3",
        id, owner, item_id)
    return item


async def delete_item(conn: Any, owner: str, id: str, item_id: str) -> bool:
    """Delete one item of `owner`'s conversation; False if there was none."""
    status: str = await conn.execute(
        f"DELETE FROM conversation_items WHERE conversation_id = ({_OWNED}) AND id = $3",
        id, owner, item_id)
    return status.endswith(" 1")
