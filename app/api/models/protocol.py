"""Wire models of `/v1/models` (https://platform.openai.com/docs/api-reference/models)."""

from __future__ import annotations

from typing import Literal

from app.api.protocol import OpenAIModel


class Model(OpenAIModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    context_window: int


class ModelList(OpenAIModel):
    object: Literal["list"]
    data: list[Model]
