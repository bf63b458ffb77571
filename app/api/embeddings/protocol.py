"""Wire model of `POST /v1/embeddings` (https://platform.openai.com/docs/api-reference/embeddings)."""

from __future__ import annotations

from pydantic import Field

from app.api.protocol import OpenAIModel


class EmbeddingRequest(OpenAIModel):
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: str | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
