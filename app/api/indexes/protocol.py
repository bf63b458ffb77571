"""Wire models of `/v1/indexes`: the caller's vector indexes and their documents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from app.api.protocol import OpenAIModel, VectorComponent

MAX_DOCUMENTS_PER_CALL = 1000
# A tag is a key in a GIN index, whose entries must fit in a third of a page.
Tag = Annotated[str, Field(min_length=1, max_length=256)]


class IndexCreate(OpenAIModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    model: str | None = None  # the embedding model; default: the service's default
    metric: Literal["cosine", "l2", "inner_product"] = "cosine"


class DocumentIn(OpenAIModel):
    text: str | None = None
    vector: list[VectorComponent] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    lane: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    fold: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = None


class DocumentsAdd(OpenAIModel):
    documents: list[DocumentIn] = Field(min_length=1)


class SearchFilters(OpenAIModel):
    lane: str | None = None
    fold: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class IndexSearch(OpenAIModel):
    query: str | list[VectorComponent]
    top_k: int = Field(default=10, ge=1, le=100)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    ef_search: int | None = Field(default=None, ge=1, le=1000)


class ListQuery(OpenAIModel):
    after: str | None = None
    before: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class Index(OpenAIModel):
    id: str
    object: Literal["index"]
    name: str
    model: str
    dimensions: int
    metric: Literal["cosine", "l2", "inner_product"]
    created_at: int


class IndexWithCounts(Index):
    documents: int = Field(description="Live documents (not expired).")
    by_lane: dict[str, int]


class IndexList(OpenAIModel):
    object: Literal["list"]
    data: list[Index]
    first_id: str | None
    last_id: str | None
    has_more: bool


class DocumentAdded(OpenAIModel):
    id: str
    object: Literal["index.document"]
    deduplicated: bool


class DocumentsAdded(OpenAIModel):
    object: Literal["list"]
    data: list[DocumentAdded]


class Document(OpenAIModel):
    id: str
    object: Literal["index.document"]
    text: str
    lane: str
    fold: str | None
    tags: list[str]
    metadata: dict[str, Any]
    created_at: int


class DocumentList(OpenAIModel):
    object: Literal["list"]
    data: list[Document]
    first_id: str | None
    last_id: str | None
    has_more: bool


class SearchResult(OpenAIModel):
    id: str
    object: Literal["index.search_result"]
    score: float
    text: str
    lane: str
    fold: str | None
    tags: list[str]
    metadata: dict[str, Any]


class SearchResults(OpenAIModel):
    object: Literal["list"]
    data: list[SearchResult]
