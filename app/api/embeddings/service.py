"""Embeddings, as the OpenAI SDKs need them (OPENAI_COMPAT §3).

Both SDKs ask for `encoding_format: "base64"` by default and decode little-endian float32;
the Node SDK silently corrupts vectors if the server answers floats instead, so the format
asked for is always the format sent.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from app.api.embeddings.protocol import EmbeddingRequest
from app.embeddings.base import shorten
from app.embeddings.registry import EmbeddingRegistry
from app.errors import InvalidRequest
from app.matriz.tokenizer import count_tokens

MAX_INPUTS = 2048


def _items(raw: str | list[str] | list[int] | list[list[int]]) -> list[str | list[int]]:
    """The inputs one by one: a string, strings, one list of token ids, or several."""
    if isinstance(raw, str):
        return [raw]
    if raw and all(isinstance(x, int) for x in raw):
        return [[int(x) for x in raw]]  # type: ignore[arg-type]
    return list(raw)  # type: ignore[arg-type]


def _texts(req: EmbeddingRequest, detokenize: Any) -> list[str]:
    raw = _items(req.input)
    if not raw:
        raise InvalidRequest("'input' must not be empty.", param="input", code="empty_input")
    if len(raw) > MAX_INPUTS:
        raise InvalidRequest(f"'input' may hold at most {MAX_INPUTS} items.", param="input")
    texts: list[str] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            if not item.strip():
                raise InvalidRequest(f"input[{i}] is empty.", param=f"input[{i}]",
                                     code="empty_input")
            texts.append(item)
        else:
            if not item:
                raise InvalidRequest(f"input[{i}] is empty.", param=f"input[{i}]",
                                     code="empty_input")
            try:
                texts.append(detokenize(item))
            except ValueError as exc:
                raise InvalidRequest(f"input[{i}]: {exc}.", param=f"input[{i}]") from exc
    return texts


class EmbeddingsService:
    def __init__(self, registry: EmbeddingRegistry) -> None:
        self._registry = registry

    async def create(self, req: EmbeddingRequest) -> dict[str, Any]:
        """Embed every input, in order."""
        batcher = self._registry.get(req.model)
        embedder = batcher.embedder
        fmt = req.encoding_format or "float"
        if fmt not in ("float", "base64"):
            raise InvalidRequest("encoding_format must be 'float' or 'base64'.",
                                 param="encoding_format")
        if req.dimensions is not None and req.dimensions != embedder.dimensions and (
            not embedder.shortens or req.dimensions > embedder.dimensions
        ):
            raise InvalidRequest(
                f"The model '{embedder.id}' does not support dimensions={req.dimensions}"
                + (f"; it can give 1 to {embedder.dimensions}." if embedder.shortens
                   else f"; its vectors have {embedder.dimensions}."),
                param="dimensions")
        texts = _texts(req, embedder.detokenize)
        vectors = await batcher.embed(texts)
        if req.dimensions is not None and req.dimensions < embedder.dimensions:
            vectors = shorten(vectors, req.dimensions)
        data = [{"object": "embedding", "index": i, "embedding": _encode(row, fmt)}
                for i, row in enumerate(vectors)]
        tokens = sum(count_tokens(t) for t in texts)
        return {"object": "list", "data": data, "model": embedder.id,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _encode(row: np.ndarray, fmt: str) -> Any:
    """base64 of the little-endian float32 bytes, or the float32 array itself: the JSON
    encoder writes each value in the fewest digits that read back as the same float32
    (as OpenAI does), half the bytes of printing it as a double."""
    if fmt == "base64":
        return base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode()
    return np.ascontiguousarray(row, dtype=np.float32)
