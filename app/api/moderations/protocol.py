"""Wire model of `POST /v1/moderations` (https://platform.openai.com/docs/api-reference/moderations)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.api.protocol import OpenAIModel


class ImageURL(OpenAIModel):
    url: str


class TextPart(OpenAIModel):
    type: Literal["text"]
    text: str


class ImagePart(OpenAIModel):
    type: Literal["image_url"]
    image_url: ImageURL


class ModerationRequest(OpenAIModel):
    input: str | list[str] | list[TextPart | ImagePart]
    model: str | None = None


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class ModerationResult(OpenAIModel):
    flagged: bool
    categories: dict[str, bool] = Field(
        description="Each of OpenAI's 13 moderation categories, and the policy's own (pii, "
                    "secrets, prompt_injection, policy).")
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[Literal["text", "image"]]]


class Moderation(OpenAIModel):
    id: str
    model: str
    results: list[ModerationResult]
