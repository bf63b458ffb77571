"""`/v1/embeddings` with the official SDKs' defaults (both ask for base64) and raw HTTP."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest


def test_python_sdk_default_is_base64_and_matches_floats(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    texts = ["The cat sat on the mat.", "A feline rested on the rug.", "Stock prices fell."]
    got = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)  # base64 by default
    assert [d.index for d in got.data] == [0, 1, 2]
    vectors = np.array([d.embedding for d in got.data], dtype=np.float32)
    assert vectors.shape == (3, 384)
    raw = http.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": texts,
                                            "encoding_format": "float"}).json()
    floats = np.array([d["embedding"] for d in raw["data"]], dtype=np.float32)
    assert np.allclose(vectors, floats, atol=1e-6)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert got.usage.prompt_tokens == got.usage.total_tokens > 0


def test_base64_is_little_endian_float32(http: httpx.Client) -> None:
    body = {"model": "lukhas-hash-v1", "input": "hello world"}
    b64 = http.post("/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    floats = http.post("/v1/embeddings", json=body).json()
    decoded = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    assert decoded.shape == (384,)
    assert np.array_equal(decoded, np.array(floats["data"][0]["embedding"], dtype=np.float32)), \
        "each float reads back as exactly the float32 the base64 carries"


def test_token_arrays_and_dimensions(http: httpx.Client) -> None:
    one = http.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2",
                                            "input": [7592, 2088], "encoding_format": "float"})
    text = http.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2",
                                             "input": "hello world", "encoding_format": "float"})
    assert np.allclose(one.json()["data"][0]["embedding"], text.json()["data"][0]["embedding"],
                       atol=1e-5)
    many = http.post("/v1/embeddings", json={"model": "lukhas-hash-v1",
                                             "input": [[1, 2], [3]], "dimensions": 64})
    data = many.json()["data"]
    assert [len(d["embedding"]) for d in data] == [64, 64]
    assert np.linalg.norm(data[0]["embedding"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "all-MiniLM-L6-v2", "input": ""}, "input[0]"),
    ({"model": "all-MiniLM-L6-v2", "input": []}, "input"),
    ({"model": "all-MiniLM-L6-v2", "input": ["ok", "  "]}, "input[1]"),
    ({"model": "all-MiniLM-L6-v2", "input": ["x"] * 2049}, "input"),
    ({"model": "all-MiniLM-L6-v2", "input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 128}, "dimensions"),
    ({"model": "lukhas-hash-v1", "input": "x", "dimensions": 4096}, "dimensions"),
    ({"model": "all-MiniLM-L6-v2", "input": [[-1]]}, "input[0]"),
    ({"model": "all-MiniLM-L6-v2", "input": {"text": "x"}}, "input"),
])
def test_bad_requests_are_400(http: httpx.Client, body: dict[str, object], param: str) -> None:
    resp = http.post("/v1/embeddings", json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param


def test_unknown_model_and_listing(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert {"all-MiniLM-L6-v2", "lukhas-hash-v1", "lukhas-matriz"} <= set(ids)
    assert client.models.retrieve("lukhas-hash-v1").id == "lukhas-hash-v1"
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
