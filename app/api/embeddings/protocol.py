"""Wire model of `POST /v1/embeddings` (https://platform.openai.com/docs/api-reference/embeddings)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.protocol import OpenAIModel


class EmbeddingRequest(OpenAIModel):
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: str | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class Embedding(OpenAIModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(
        description="Floats, or base64 of little-endian float32 with encoding_format=base64.")


class EmbeddingUsage(OpenAIModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(OpenAIModel):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
