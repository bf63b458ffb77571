"""all-MiniLM-L6-v2 in NumPy gives the vectors sentence-transformers gives.

tests/embeddings/data/minilm_reference.json holds what sentence-transformers 6.3 on torch
2.13 (CPU) produced for ten texts (short, long past the model's 256 tokens, empty, accents,
CJK and emoji): their vectors, their token ids and their ids decoded again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.embeddings.minilm import MAX_TOKENS, MiniLMEmbedder

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())


def test_vectors_equal_the_references_to_float32_precision() -> None:
    vectors = MiniLMEmbedder().embed(REFERENCE["texts"])
    expected = np.asarray(REFERENCE["vectors"], dtype=np.float32)
    assert vectors.shape == expected.shape and vectors.dtype == np.float32
    assert np.abs(vectors - expected).max() < 1e-6
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("index", range(len(REFERENCE["texts"])))
def test_each_text_alone_as_in_a_batch(index: int) -> None:
    # One text's vector does not depend on the others of its batch (nothing is padded).
    alone = MiniLMEmbedder().embed([REFERENCE["texts"][index]])[0]
    assert np.abs(alone - np.asarray(REFERENCE["vectors"][index], np.float32)).max() < 1e-6


def test_a_long_text_is_cut_at_the_models_length() -> None:
    long = " ".join(["long"] * 300)
    cut = " ".join(["long"] * (MAX_TOKENS - 2))  # [CLS] and [SEP] take two
    a, b = MiniLMEmbedder().embed([long, cut])
    assert np.abs(a - b).max() < 1e-6


def test_token_ids_decode_as_the_reference_does() -> None:
    emb = MiniLMEmbedder()
    for ids, text in zip(REFERENCE["token_ids"], REFERENCE["decoded"], strict=True):
        assert emb.detokenize(ids) == text
