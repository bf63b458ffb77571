"""Keyset pagination, OpenAI's `after`/`before`/`limit`/`order`, for any owned table."""

from __future__ import annotations

from typing import Any


async def keyset_page(conn: Any, table: str, owned: str, args: list[Any], *, limit: int,
                      after: str | None, before: str | None, descending: bool,
                      live: str = "TRUE", columns: str = "*") -> tuple[list[Any], bool]:
    """One page of `table`'s rows matching `owned`, and whether more follow."""
    # Keyset pagination on (created_at, id): `after` continues in the listing's order,
    # `before` goes back towards its start. The cursor row is looked up within `owned`
    # (the caller's own rows, live or not): an id of someone else's is a cursor naming
    # nothing, an empty page exactly as for an id that never existed, so a listing is
    # no oracle for other callers' ids or creation times.
    forward = before is None
    newest_first = descending == forward
    cursor = after if forward else before
    clause = f"{owned} AND {live}"
    if cursor is not None:
        args = [*args, cursor]
        cmp = "<" if newest_first else ">"
        clause += (f" AND (created_at, id) {cmp} (SELECT created_at, id FROM {table}"
                   f" WHERE {owned} AND id = ${len(args)})")
    order = "DESC" if newest_first else "ASC"
    rows = await conn.fetch(
        f"SELECT {columns} FROM {table} WHERE {clause}"
        f" ORDER BY created_at {order}, id {order} LIMIT {int(limit) + 1}", *args)
    more = len(rows) > limit
    page = list(rows[:limit])
    return (page if forward else page[::-1]), more
