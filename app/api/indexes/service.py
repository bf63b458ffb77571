"""Vector indexes: each belongs to its caller (someone else's is a 404), embeds text with its
model server-side or takes precomputed vectors, and stores a batch all or nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np

from app.api.indexes.protocol import (
    MAX_DOCUMENTS_PER_CALL,
    DocumentsAdd,
    IndexCreate,
    IndexSearch,
    ListQuery,
)
from app.api.listing import list_page
from app.db.repositories import memory as repo
from app.embeddings.registry import EmbeddingRegistry
from app.errors import InvalidRequest, NotFound
from app.identity.base import Identity
from app.ids import new_id, ordered_ids
from app.matriz.retrieval import FileSearch, Source
from app.memory.retention import Retention, load_retention


def index_object(index: repo.IndexRow) -> dict[str, Any]:
    return {"id": index.id, "object": "index", "name": index.name, "model": index.model,
            "dimensions": index.dimensions, "metric": index.metric,
            "created_at": int(index.created_at.timestamp())}

# The smallest component whose square is a normal float32 (about 1.08e-19).
_SMALLEST_DIRECTION = float(np.sqrt(np.finfo(np.float32).tiny))


_KNOWN_INDEXES = 4096  # index rows remembered for searches (the oldest goes first)


class IndexesService:
    def __init__(self, pool: Any, embeddings: EmbeddingRegistry,
                 retention: Retention | None = None) -> None:
        self._retention = retention or load_retention()
        self._pool = pool
        self._embeddings = embeddings
        # Index rows by (owner, id), for searches: a row never changes after it is created,
        # and a search that finds nothing checks that its index still exists.
        self._rows: dict[tuple[str, str], repo.IndexRow] = {}

    async def _index(self, conn: Any, identity: Identity, index_id: str,
                     param: str = "index_id") -> repo.IndexRow:
        index = await repo.get_index(conn, identity.subject, index_id)
        if index is None:
            raise NotFound(f"No index with id '{index_id}'.", param=param,
                           code="index_not_found")
        return index

    async def create(self, identity: Identity, req: IndexCreate) -> dict[str, Any]:
        """Create an index; its dimension follows its embedding model."""
        model = req.model or self._embeddings.default
        if model is None:
            raise InvalidRequest("No embedding model is installed.", param="model")
        dims = self._embeddings.get(model).embedder.dimensions
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                index = await repo.create_index(conn, id=new_id("idx_"), owner=identity.subject,
                                                name=req.name, model=model, dimensions=dims,
                                                metric=req.metric)
            except asyncpg.UniqueViolationError as exc:
                raise InvalidRequest(f"You already have an index named '{req.name}'.",
                                     param="name", code="duplicate_name") from exc
        return index_object(index)

    async def get(self, identity: Identity, index_id: str) -> dict[str, Any]:
        """One of the caller's indexes, with its document counts."""
        async with self._pool.acquire() as conn:
            index = await self._index(conn, identity, index_id)
            stats = await repo.stats(conn, identity.subject, index_id)
        return {**index_object(index), "documents": stats["documents"],
                "by_lane": stats["by_lane"]}

    async def list(self, identity: Identity, q: ListQuery) -> dict[str, Any]:
        """The caller's indexes, OpenAI list conventions."""
        async with self._pool.acquire() as conn:
            rows, more = await repo.list_indexes(conn, identity.subject, limit=q.limit,
                                                 after=q.after, before=q.before,
                                                 descending=q.order == "desc")
        return list_page([index_object(r) for r in rows], more)

    async def delete(self, identity: Identity, index_id: str) -> dict[str, Any]:
        """Delete an index and everything in it."""
        self._rows.pop((identity.subject, index_id), None)
        async with self._pool.acquire() as conn, conn.transaction():
            if not await repo.delete_index(conn, identity.subject, index_id):
                raise NotFound(f"No index with id '{index_id}'.", param="index_id",
                               code="index_not_found")
        return {"id": index_id, "object": "index.deleted", "deleted": True}

    async def add(self, identity: Identity, index_id: str, req: DocumentsAdd) -> dict[str, Any]:
        """Validate every document, embed the texts, then store them in one transaction."""
        if len(req.documents) > MAX_DOCUMENTS_PER_CALL:
            raise InvalidRequest(f"At most {MAX_DOCUMENTS_PER_CALL} documents per call.",
                                 param="documents")
        async with self._pool.acquire() as conn:
            index = await self._index(conn, identity, index_id)
        texts: list[tuple[int, str]] = []
        vectors: dict[int, np.ndarray] = {}
        for i, doc in enumerate(req.documents):
            if doc.text is None or not doc.text.strip():
                raise InvalidRequest("Each document needs non-empty 'text'.",
                                     param=f"documents[{i}].text", code="empty_input")
            if doc.vector is not None:
                if len(doc.vector) != index.dimensions:
                    raise InvalidRequest(
                        f"documents[{i}].vector has {len(doc.vector)} dimensions; the index "
                        f"has {index.dimensions}.", param=f"documents[{i}].vector",
                        code="dimension_mismatch")
                vectors[i] = np.asarray(doc.vector, dtype=np.float32)
            else:
                texts.append((i, doc.text))
        if texts:
            embedded = await self._embeddings.get(index.model).embed([t for _, t in texts])
            vectors.update({i: row for (i, _), row in zip(texts, embedded, strict=True)})
        for i, vector in sorted(vectors.items()):
            given = req.documents[i].vector is not None
            _check_direction(index, vector, f"documents[{i}].{'vector' if given else 'text'}",
                             given)
        docs = [repo.NewDocument(d.text or "", vectors[i], d.lane, d.fold, d.tags, d.metadata,
                                 d.expires_at or self._retention.expires_at(d.lane))
                for i, d in enumerate(req.documents)]
        async with self._pool.acquire() as conn, conn.transaction():
            added = await repo.add_many(conn, index, docs, ordered_ids("mem_", len(docs)))
        return {"object": "list", "data": [
            {"id": a.id, "object": "index.document", "deduplicated": not a.created}
            for a in added]}

    async def documents(self, identity: Identity, index_id: str,
                        q: ListQuery) -> dict[str, Any]:
        """One page of the index's live documents."""
        async with self._pool.acquire() as conn:
            await self._index(conn, identity, index_id)
            rows, more = await repo.list_documents(
                conn, identity.subject, index_id, limit=q.limit, after=q.after,
                before=q.before, descending=q.order == "desc")
        data = [{"id": r["id"], "object": "index.document", "text": r["content"],
                 "lane": r["lane"], "fold": r["fold"], "tags": list(r["tags"]),
                 "metadata": r["metadata"], "created_at": int(r["created_at"].timestamp())}
                for r in rows]
        return list_page(data, more)

    async def delete_document(self, identity: Identity, index_id: str,
                              doc_id: str) -> dict[str, Any]:
        """Delete one document."""
        async with self._pool.acquire() as conn:
            await self._index(conn, identity, index_id)
            if not await repo.delete(conn, identity.subject, index_id, doc_id):
                raise NotFound(f"No document with id '{doc_id}'.", param="document_id",
                               code="document_not_found")
        return {"id": doc_id, "object": "index.document.deleted", "deleted": True}

    async def search(self, identity: Identity, index_id: str,
                     req: IndexSearch) -> dict[str, Any]:
        """Top-k by text (embedded with the index's model) or by vector, with scores.

        One round trip in the common case: the index's row (its model, dimensions and
        metric) is remembered, the query is embedded with no connection held, and only a
        search that finds nothing asks whether the index still exists (it may have been
        deleted or erased through another replica). Under load each round trip is a wait
        behind every other request's work on the event loop, and a held connection is one
        the other requests queue for."""
        if isinstance(req.query, str) and not req.query.strip():
            raise InvalidRequest("'query' must not be empty.", param="query",
                                 code="empty_input")
        key = (identity.subject, index_id)
        index = self._rows.get(key)
        if index is None:
            async with self._pool.acquire() as conn:
                index = await self._index(conn, identity, index_id)
            if len(self._rows) >= _KNOWN_INDEXES:
                self._rows.pop(next(iter(self._rows)))
            self._rows[key] = index
        if isinstance(req.query, str):
            query = (await self._embeddings.get(index.model).embed([req.query]))[0]
        else:
            if len(req.query) != index.dimensions:
                raise InvalidRequest(f"The query vector has {len(req.query)} dimensions; the "
                                     f"index has {index.dimensions}.", param="query",
                                     code="dimension_mismatch")
            query = np.asarray(req.query, dtype=np.float32)
        _check_direction(index, query, "query", not isinstance(req.query, str))
        f = req.filters
        async with self._pool.acquire() as conn:
            hits = await repo.search(conn, index, query, req.top_k,
                                     repo.Filters(f.lane, f.fold, f.tags, f.metadata),
                                     ef_search=req.ef_search)
            if not hits and await repo.get_index(conn, identity.subject, index_id) is None:
                self._rows.pop(key, None)
                raise NotFound(f"No index with id '{index_id}'.", param="index_id",
                               code="index_not_found")
        return {"object": "list", "data": [
            {"id": h.id, "object": "index.search_result", "score": h.score, "text": h.content,
             "lane": h.lane, "fold": h.fold, "tags": h.tags, "metadata": h.metadata}
            for h in hits]}

    async def file_search(self, identity: Identity, search: FileSearch, query: str) -> None:
        """A Responses file_search: the named indexes (each the caller's, or 404), searched
        for `query` with each index's own model; the best `max_results` of them all. A
        query with no words to embed finds nothing (it is a question, not a bad request)."""
        where = f"{search.param}.vector_store_ids"
        async with self._pool.acquire() as conn:
            indexes = [await self._index(conn, identity, index_id, f"{where}[{i}]")
                       for i, index_id in enumerate(search.index_ids)]
        search.queries = [query] if query.strip() else []
        search.sources = []
        if not search.queries:
            return
        vectors = {}
        for model in dict.fromkeys(index.model for index in indexes):
            vectors[model] = (await self._embeddings.get(model).embed([query]))[0]
        filters = repo.Filters(attributes=search.attributes)
        found: list[Source] = []
        async with self._pool.acquire() as conn:
            for index in indexes:
                vector = vectors[index.model]
                if not _has_direction(index, vector):
                    continue
                hits = await repo.search(conn, index, vector, search.max_results, filters)
                found += [_source(index, hit) for hit in hits
                          if search.score_threshold is None
                          or hit.score >= search.score_threshold]
        found.sort(key=lambda source: -source.score)  # stable: ties keep the index order
        search.sources = found[: search.max_results]


def _source(index: repo.IndexRow, hit: repo.Hit) -> Source:
    """A hit as a file search source: its metadata's scalar values are its attributes."""
    name = hit.metadata.get("filename")
    attributes = {k: v for k, v in hit.metadata.items() if isinstance(v, str | int | float)}
    return Source(hit.id, name if isinstance(name, str) and name else index.name, index.id,
                  hit.content, hit.score, attributes)


def _has_direction(index: repo.IndexRow, vector: np.ndarray) -> bool:
    return index.metric != "cosine" or float(np.max(np.abs(vector))) >= _SMALLEST_DIRECTION


def _check_direction(index: repo.IndexRow, vector: np.ndarray, param: str, given: bool) -> None:
    """Cosine similarity needs a direction: pgvector sums squares in float32, so a vector
    whose largest component squares to less than float32's smallest normal number has a
    norm of zero there, and every score against it would be NaN, which JSON cannot carry.
    The zero vector is the common case (text without a word, with the hashing model)."""
    if not _has_direction(index, vector):
        what = f"'{param}' is" if given else f"The embedding of '{param}' is"
        raise InvalidRequest(f"{what} the zero vector (or too close to it for float32), which "
                             "has no direction; the index compares by cosine similarity.",
                             param=param, code="zero_vector")
