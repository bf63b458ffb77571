"""`/v1/indexes`: the caller's vector indexes, their documents, and search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.indexes.protocol import (
    DocumentList,
    DocumentsAdd,
    DocumentsAdded,
    Index,
    IndexCreate,
    IndexList,
    IndexSearch,
    IndexWithCounts,
    ListQuery,
    SearchResults,
)
from app.api.protocol import CheckedRoute
from app.api.responses.protocol import Deleted
from app.deps import IndexesDep, require
from app.identity.base import Identity

router = APIRouter(tags=["indexes"], route_class=CheckedRoute)
Reader = Annotated[Identity, require("indexes.read")]
Writer = Annotated[Identity, require("indexes.write")]


@router.post("/indexes", response_model=None, responses={200: {"model": Index}})
async def create_index(body: IndexCreate, who: Writer, svc: IndexesDep) -> dict[str, Any]:
    """Create an index; its dimension follows its embedding model."""
    return await svc.create(who, body)


@router.get("/indexes", response_model=None, responses={200: {"model": IndexList}})
async def list_indexes(
    who: Reader, svc: IndexesDep, q: Annotated[ListQuery, Query()]
) -> dict[str, Any]:
    """The caller's indexes."""
    return await svc.list(who, q)


@router.get("/indexes/{index_id}", response_model=None,
            responses={200: {"model": IndexWithCounts}})
async def retrieve_index(index_id: str, who: Reader, svc: IndexesDep) -> dict[str, Any]:
    """One index with its document counts."""
    return await svc.get(who, index_id)


@router.delete("/indexes/{index_id}", response_model=None,
               responses={200: {"model": Deleted}})
async def delete_index(index_id: str, who: Writer, svc: IndexesDep) -> dict[str, Any]:
    """Delete an index and its documents."""
    return await svc.delete(who, index_id)


@router.post("/indexes/{index_id}/documents", response_model=None,
             responses={200: {"model": DocumentsAdded}})
async def add_documents(
    index_id: str, body: DocumentsAdd, who: Writer, svc: IndexesDep
) -> dict[str, Any]:
    """Add documents (text embedded server-side, or precomputed vectors); all or nothing."""
    return await svc.add(who, index_id, body)


@router.get("/indexes/{index_id}/documents", response_model=None,
            responses={200: {"model": DocumentList}})
async def list_documents(
    index_id: str, who: Reader, svc: IndexesDep, q: Annotated[ListQuery, Query()]
) -> dict[str, Any]:
    """The index's live documents."""
    return await svc.documents(who, index_id, q)


@router.delete("/indexes/{index_id}/documents/{document_id}", response_model=None,
               responses={200: {"model": Deleted}})
async def delete_document(
    index_id: str, document_id: str, who: Writer, svc: IndexesDep
) -> dict[str, Any]:
    """Delete one document."""
    return await svc.delete_document(who, index_id, document_id)


@router.post("/indexes/{index_id}/search", response_model=None,
             responses={200: {"model": SearchResults}})
async def search_index(
    index_id: str, body: IndexSearch, who: Reader, svc: IndexesDep
) -> dict[str, Any]:
    """Top-k documents by text or vector, with filters and scores."""
    return await svc.search(who, index_id, body)
