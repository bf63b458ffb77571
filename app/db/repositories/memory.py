"""SQL for long-term memory: indexes and documents with pgvector embeddings.

Every query is scoped to the owner. Each index has its own partial HNSW index over
`embedding::vector(n)`; queries name the index id as a literal (it is generated, never user
text) so the planner can match that partial index. Functions that write take a connection
inside a transaction: the service owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import orjson

from app.db.repositories.paging import keyset_page as _page

_ID = re.compile(r"^[a-z]+_[0-9a-f]{16,64}$")
_OPS = {"cosine": ("<=>", "vector_cosine_ops"), "l2": ("<->", "vector_l2_ops"),
        "inner_product": ("<#>", "vector_ip_ops")}
# Scores: cosine similarity, inner product, negative Euclidean distance (higher is closer).
_SCORE = {"cosine": "1 - ({d})", "l2": "-({d})", "inner_product": "-({d})"}
_COLUMNS = ("id", "index_id", "owner", "lane", "fold", "tags", "metadata", "content",
            "content_sha256", "embedding", "expires_at")


@dataclass(frozen=True, slots=True)
class IndexRow:
    id: str
    owner: str
    name: str
    model: str
    dimensions: int
    metric: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewDocument:
    content: str
    embedding: np.ndarray
    lane: str = "default"
    fold: str | None = None
    tags: Sequence[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Added:
    id: str
    created: bool  # False: the same content was already in the index (deduplicated)


Scalar = str | float | bool
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]


@dataclass(frozen=True, slots=True)
class Compare:
    """`metadata[key] <op> value`; `in`/`nin` take a list. A document without the key
    matches only `ne` and `nin` (it equals nothing)."""

    key: str
    op: Comparison
    value: Scalar | tuple[str | float, ...]


@dataclass(frozen=True, slots=True)
class Combine:
    """All (`and`) or any (`or`) of the conditions."""

    op: Literal["and", "or"]
    conditions: tuple[Condition, ...]


Condition = Compare | Combine


@dataclass(frozen=True, slots=True)
class Filters:
    lane: str | None = None
    fold: str | None = None
    tags: Sequence[str] = ()  # all of them
    metadata: Mapping[str, Any] = field(default_factory=dict)  # containment (@>)
    attributes: Condition | None = None  # comparisons on metadata values
    current: bool = False  # leave out documents a fold's newer member speaks for


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    content: str
    lane: str
    fold: str | None
    tags: list[str]
    metadata: dict[str, Any]
    updated_at: datetime | None = None  # when the content was last written (search only)


def _checked(index_id: str) -> str:
    if not _ID.match(index_id):
        raise ValueError(f"not a generated id: {index_id!r}")
    return index_id


def hnsw_name(index_id: str) -> str:
    """The name of an index's HNSW index (PostgreSQL cuts names at 63 bytes)."""
    name = f"mhnsw_{_checked(index_id)}"
    return name if len(name) <= 63 else "mhnsw_" + hashlib.sha256(name.encode()).hexdigest()[:48]


def content_hash(content: str) -> bytes:
    """SHA-256 of the content, the deduplication key within an index."""
    return hashlib.sha256(content.encode()).digest()


async def create_index(conn: Any, *, id: str, owner: str, name: str, model: str,
                       dimensions: int, metric: str = "cosine") -> IndexRow:
    """Create an index and its HNSW index (raises UniqueViolationError on a taken name)."""
    row = await conn.fetchrow(
        "INSERT INTO memory_indexes (id, owner, name, model, dimensions, metric)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *", id, owner, name, model, dimensions,
        metric,
    )
    index = IndexRow(**dict(row))
    await build_hnsw(conn, index)
    return index


async def build_hnsw(conn: Any, index: IndexRow) -> None:
    """(Re)build the index's HNSW graph over the documents it holds."""
    ops = _OPS[index.metric][1]
    await conn.execute(
        f"CREATE INDEX IF NOT EXISTS {hnsw_name(index.id)} ON memory_documents USING hnsw"
        f" ((embedding::vector({int(index.dimensions)})) {ops})"
        f" WHERE index_id = '{_checked(index.id)}'"
    )


async def drop_hnsw(conn: Any, index: IndexRow) -> None:
    """Drop the HNSW graph, for a bulk load that rebuilds it once at the end."""
    await conn.execute(f"DROP INDEX IF EXISTS {hnsw_name(index.id)}")


async def get_index(conn: Any, owner: str, index_id: str) -> IndexRow | None:
    """One of `owner`'s indexes."""
    row = await conn.fetchrow("SELECT * FROM memory_indexes WHERE id = $1 AND owner = $2",
                              index_id, owner)
    return None if row is None else IndexRow(**dict(row))


async def add_many(conn: Any, index: IndexRow, docs: Sequence[NewDocument],
                   ids: Sequence[str]) -> list[Added]:
    """Insert documents with one COPY and one INSERT; duplicates return the stored id."""
    hashes = [content_hash(d.content) for d in docs]
    records = [
        (doc_id, index.id, index.owner, d.lane, d.fold, list(d.tags), dict(d.metadata),
         d.content, h, np.asarray(d.embedding, dtype=np.float32), d.expires_at)
        for doc_id, d, h in zip(ids, docs, hashes, strict=True)
    ]
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS memory_load"
                       " (LIKE memory_documents INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    await conn.copy_records_to_table("memory_load", records=records, columns=_COLUMNS)
    inserted = await conn.fetch(
        f"INSERT INTO memory_documents ({', '.join(_COLUMNS)})"
        f" SELECT {', '.join(_COLUMNS)} FROM memory_load"
        " ON CONFLICT (index_id, content_sha256) DO NOTHING RETURNING id, content_sha256"
    )
    await conn.execute("TRUNCATE memory_load")
    new = {bytes(r["content_sha256"]): r["id"] for r in inserted}
    missing = [h for h in set(hashes) if h not in new]
    existing: dict[bytes, str] = {}
    if missing:
        rows = await conn.fetch(
            "SELECT id, content_sha256 FROM memory_documents"
            " WHERE index_id = $1 AND content_sha256 = ANY($2::bytea[])", index.id, missing)
        existing = {bytes(r["content_sha256"]): r["id"] for r in rows}
    out = []
    for doc_id, h in zip(ids, hashes, strict=True):
        if new.get(h) == doc_id:
            out.append(Added(doc_id, True))
        else:
            out.append(Added(new.get(h) or existing[h], False))
    return out


async def get(conn: Any, owner: str, doc_id: str) -> Hit | None:
    """One live document of `owner` (score 1)."""
    row = await conn.fetchrow(
        "SELECT id, 1.0::float8 AS score, content, lane, fold, tags, metadata"
        " FROM memory_documents WHERE id = $1 AND owner = $2"
        " AND (expires_at IS NULL OR expires_at > now())", doc_id, owner)
    return None if row is None else Hit(**dict(row))


async def search(conn: Any, index: IndexRow, query: np.ndarray, k: int,
                 filters: Filters = Filters(), ef_search: int | None = None) -> list[Hit]:
    """Top `k` live documents of the index by similarity, best first, with scores."""
    op = _OPS[index.metric][0]
    distance = f"embedding::vector({int(index.dimensions)}) {op} $1"
    where = [f"index_id = '{_checked(index.id)}'", "owner = $2",
             "(expires_at IS NULL OR expires_at > now())"]
    args: list[Any] = [np.asarray(query, dtype=np.float32), index.owner]
    for column, value in (("lane", filters.lane), ("fold", filters.fold)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if filters.tags:
        args.append(list(filters.tags))
        where.append(f"tags @> ${len(args)}::text[]")
    if filters.metadata:
        args.append(dict(filters.metadata))
        where.append(f"metadata @> ${len(args)}::jsonb")
    if filters.attributes is not None:
        values: dict[str, Any] = {}
        args.append(json_path(filters.attributes, values))
        args.append(values)
        # Silent: a comparison of mismatched types is no match, not an error.
        where.append(f"jsonb_path_match(metadata, ${len(args) - 1}::jsonpath,"
                     f" ${len(args)}::jsonb, true)")
    if filters.current:
        where.append("NOT superseded")
    args.append(k)
    filtered = len(args) > 3 or filters.current
    sql = (f"SELECT id, {_SCORE[index.metric].format(d=distance)} AS score, content, lane,"
           f" fold, tags, metadata, updated_at, ({distance}) AS distance FROM memory_documents"
           f" WHERE {' AND '.join(where)} ORDER BY {distance} LIMIT ${len(args)}")
    if filtered:  # iterative scans may return near-order: put them back in order
        sql = f"SELECT * FROM ({sql}) AS hits ORDER BY distance"
    if ef_search is None and not filtered:  # no settings to scope: one round trip
        rows = await conn.fetch(sql, *args)
    else:
        async with conn.transaction():
            if ef_search is not None:
                await conn.execute(f"SET LOCAL hnsw.ef_search = {int(ef_search)}")
            if filtered:  # keep scanning the HNSW graph until k rows pass the filters
                await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            rows = await conn.fetch(sql, *args)
    return [Hit(r["id"], float(r["score"]), r["content"], r["lane"], r["fold"],
                list(r["tags"]), r["metadata"], r["updated_at"]) for r in rows]


_PATH_OPS = {"eq": "==", "ne": "==", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=",
             "in": "==", "nin": "=="}


def json_path(condition: Condition, values: dict[str, Any]) -> str:
    """A SQL/JSON path predicate over `metadata` for `condition`; the compared values go
    into `values` as path variables, so no value is ever spliced into the path. Keys are
    quoted path members (JSON string syntax). In lax mode `==` against a list is true when
    any element is equal, which is `in`; `ne` and `nin` are the negation of `eq` and `in`."""
    if isinstance(condition, Combine):
        joiner = " && " if condition.op == "and" else " || "
        return "(" + joiner.join(json_path(c, values) for c in condition.conditions) + ")"
    name = f"v{len(values)}"
    values[name] = list(condition.value) if isinstance(condition.value, tuple) \
        else condition.value
    member = orjson.dumps(condition.key).decode()
    test = f"($.{member} {_PATH_OPS[condition.op]} ${name})"
    return f"!{test}" if condition.op in ("ne", "nin") else test


async def delete(conn: Any, owner: str, index_id: str, doc_id: str) -> bool:
    """Delete one document of `owner`'s index `index_id`."""
    status: str = await conn.execute(
        "DELETE FROM memory_documents WHERE id = $1 AND owner = $2 AND index_id = $3",
        doc_id, owner, index_id)
    return status.endswith(" 1")


async def stats(conn: Any, owner: str, index_id: str) -> dict[str, Any]:
    """Live documents per lane, and expired ones awaiting the sweep."""
    rows = await conn.fetch(
        "SELECT lane, count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) AS live,"
        " count(*) FILTER (WHERE expires_at <= now()) AS expired"
        " FROM memory_documents WHERE index_id = $1 AND owner = $2 GROUP BY lane",
        index_id, owner)
    return {"documents": sum(r["live"] for r in rows),
            "expired": sum(r["expired"] for r in rows),
            "by_lane": {r["lane"]: r["live"] for r in rows}}


async def delete_index(conn: Any, owner: str, index_id: str) -> bool:
    """Delete an index of `owner`, its documents and its HNSW graph."""
    status: str = await conn.execute(
        "DELETE FROM memory_indexes WHERE id = $1 AND owner = $2", index_id, owner)
    if not status.endswith(" 1"):
        return False
    await conn.execute(f"DROP INDEX IF EXISTS {hnsw_name(index_id)}")
    return True


async def list_indexes(conn: Any, owner: str, *, limit: int, after: str | None,
                       before: str | None, descending: bool) -> tuple[list[IndexRow], bool]:
    """One page of `owner`'s indexes by creation, and whether more follow."""
    rows, more = await _page(conn, "memory_indexes", "owner = $1", [owner], limit=limit,
                             after=after, before=before, descending=descending)
    return [IndexRow(**dict(r)) for r in rows], more


async def list_documents(conn: Any, owner: str, index_id: str, *, limit: int,
                         after: str | None, before: str | None,
                         descending: bool) -> tuple[list[dict[str, Any]], bool]:
    """One page of an index's live documents by creation, and whether more follow."""
    rows, more = await _page(
        conn, "memory_documents", "owner = $1 AND index_id = $2", [owner, index_id],
        live="(expires_at IS NULL OR expires_at > now())", limit=limit, after=after,
        before=before, descending=descending,
        columns="id, content, lane, fold, tags, metadata, created_at, expires_at")
    return [dict(r) for r in rows], more


async def get_index_by_name(conn: Any, owner: str, name: str) -> IndexRow | None:
    """`owner`'s index called `name`."""
    row = await conn.fetchrow("SELECT * FROM memory_indexes WHERE owner = $1 AND name = $2",
                              owner, name)
    return None if row is None else IndexRow(**dict(row))


async def add_one(conn: Any, index: IndexRow, doc: NewDocument, doc_id: str) -> Added:
    """Insert one document in one statement; the same content returns the stored id.

    `DO UPDATE` (touching `updated_at`), not `DO NOTHING` plus a lookup: when another
    transaction inserts the same content at the same moment, the statement waits for it and
    then returns its row, where a lookup in the same statement would not see it."""
    row = await conn.fetchrow(
        "INSERT INTO memory_documents (id, index_id, owner, lane, fold, tags,"
        " metadata, content, content_sha256, embedding, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (index_id, content_sha256) DO UPDATE SET updated_at = now()"
        " RETURNING id, id = $1 AS created",
        doc_id, index.id, index.owner, doc.lane, doc.fold, list(doc.tags), dict(doc.metadata),
        doc.content, content_hash(doc.content), np.asarray(doc.embedding, dtype=np.float32),
        doc.expires_at)
    return Added(row["id"], row["created"])


async def erase_subject(conn: Any, subject: str) -> dict[str, int]:
    """Delete `subject`'s memory documents and indexes, leaving content-free tombstones."""
    status: str = await conn.execute(
        "WITH gone AS (DELETE FROM memory_documents WHERE owner = $1"
        " RETURNING id, index_id)"
        " INSERT INTO memory_tombstones (id, index_id, reason)"
        " SELECT id, index_id, 'erasure' FROM gone ON CONFLICT (id) DO NOTHING", subject)
    index_ids = [r["id"] for r in await conn.fetch(
        "DELETE FROM memory_indexes WHERE owner = $1 RETURNING id", subject)]
    for index_id in index_ids:
        await conn.execute(f"DROP INDEX IF EXISTS {hnsw_name(index_id)}")
    return {"documents": int(status.split()[-1]), "indexes": len(index_ids)}


async def sweep_expired(conn: Any, limit: int = 10_000) -> int:
    """Delete up to `limit` expired documents, leaving tombstones; return how many."""
    status: str = await conn.execute(
        "WITH gone AS (DELETE FROM memory_documents WHERE id IN ("
        " SELECT id FROM memory_documents WHERE expires_at <= now() LIMIT $1)"
        " RETURNING id, index_id)"
        " INSERT INTO memory_tombstones (id, index_id, reason)"
        " SELECT id, index_id, 'expired' FROM gone ON CONFLICT (id) DO NOTHING", limit)
    return int(status.split()[-1])


async def count_by_lane(conn: Any) -> dict[str, int]:
    """Live documents per lane, across all owners (for the metrics)."""
    rows = await conn.fetch("SELECT lane, count(*) AS n FROM memory_documents"
                            " WHERE expires_at IS NULL OR expires_at > now() GROUP BY lane")
    return {r["lane"]: int(r["n"]) for r in rows}


@dataclass(frozen=True, slots=True)
class FoldRow:
    id: str
    representative: str
    members: list[str]
    depth: int


async def fold_candidates(conn: Any, index_id: str, limit: int) -> list[dict[str, Any]]:
    """An index's live documents that speak for themselves (not superseded), newest first,
    with their embeddings and the fold they belong to, if any."""
    rows = await conn.fetch(
        "SELECT id, content, embedding, updated_at, fold FROM memory_documents"
        " WHERE index_id = $1 AND NOT superseded"
        " AND (expires_at IS NULL OR expires_at > now())"
        " ORDER BY updated_at DESC, id DESC LIMIT $2", index_id, limit)
    return [dict(r) for r in rows]


async def folds(conn: Any, index_id: str, ids: Sequence[str]) -> dict[str, FoldRow]:
    """The index's folds named in `ids`."""
    rows = await conn.fetch("SELECT id, representative, members, depth FROM memory_folds"
                            " WHERE index_id = $1 AND id = ANY($2::text[])", index_id, list(ids))
    return {r["id"]: FoldRow(r["id"], r["representative"], list(r["members"]), r["depth"])
            for r in rows}


async def write_fold(conn: Any, index_id: str, owner: str, fold: FoldRow,
                     created: bool) -> None:
    """Create or extend a fold of the index `index_id`: its members point at it, all but its
    representative superseded. One transaction with the caller's."""
    if created:
        await conn.execute(
            "INSERT INTO memory_folds (id, index_id, owner, representative, members, depth)"
            " VALUES ($1, $2, $3, $4, $5, $6)", fold.id, index_id, owner,
            fold.representative, fold.members, fold.depth)
    else:
        await conn.execute(
            "UPDATE memory_folds SET representative = $2, members = $3, depth = $4,"
            " updated_at = now() WHERE id = $1", fold.id, fold.representative, fold.members,
            fold.depth)
    await conn.execute(
        "UPDATE memory_documents SET fold = $2, superseded = (id <> $3)"
        " WHERE index_id = $4 AND id = ANY($1::text[])", fold.members, fold.id,
        fold.representative, index_id)


async def fold_members(conn: Any, owner: str, fold_id: str) -> list[dict[str, Any]]:
    """A fold's members, newest first (for reading a fold back)."""
    rows = await conn.fetch(
        "SELECT d.id, d.content, d.updated_at, d.superseded FROM memory_folds f"
        " JOIN memory_documents d ON d.id = ANY(f.members)"
        " WHERE f.id = $1 AND f.owner = $2 ORDER BY d.updated_at DESC, d.id DESC",
        fold_id, owner)
    return [dict(r) for r in rows]
