"""Bad values in ids, cursors and query parameters (every route), and in the bodies of the
indexes and identity APIs: each a 400 naming where it was, never a 500. Valid Unicode,
astral characters included, round-trips."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_bad_input import assert_envelope
from tests.conftest import KEY_A
from tests.utils.bad_input import BAD_NUMBERS, BAD_TEXT, bad_value, post_raw

# -- path ids, cursors, query parameters ---------------------------------------------------


@pytest.fixture(scope="module")
def ids(base_url: str) -> Iterator[dict[str, str]]:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY_A}"},
                      timeout=30) as http:
        rid = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "hi"}).json()
        idx = http.post("/v1/indexes", json={"name": "bad-values",
                                             "model": "lukhas-hash-v1"}).json()
        yield {"rid": rid["id"], "idx": idx["id"]}
        http.delete(f"/v1/indexes/{idx['id']}")


@pytest.mark.parametrize(("method", "url", "param"), [
    ("GET", "/v1/responses/{x}", "response_id"),
    ("GET", "/v1/responses/{x}?stream=true", "response_id"),
    ("DELETE", "/v1/responses/{x}", "response_id"),
    ("GET", "/v1/responses/{x}/input_items", "response_id"),
    ("GET", "/v1/responses/{rid}/input_items?after={x}", "after"),
    ("GET", "/v1/responses/{rid}?include[]={x}", "include[]"),
    ("GET", "/v1/indexes/{x}", "index_id"),
    ("DELETE", "/v1/indexes/{x}", "index_id"),
    ("GET", "/v1/indexes/{x}/documents", "index_id"),
    ("POST", "/v1/indexes/{x}/search", "index_id"),
    ("POST", "/v1/indexes/{x}/documents", "index_id"),
    ("DELETE", "/v1/indexes/{idx}/documents/{x}", "document_id"),
    ("GET", "/v1/indexes?after={x}", "after"),
    ("GET", "/v1/indexes?before={x}", "before"),
    ("GET", "/v1/indexes/{idx}/documents?after={x}", "after"),
    ("GET", "/v1/indexes/{idx}/documents?before={x}", "before"),
    ("GET", "/v1/models/{x}", "model_id"),
    ("DELETE", "/v1/identity/memory?subject={x}", "subject"),
])
def test_nul_in_ids_and_cursors(http: httpx.Client, ids: dict[str, str], method: str,
                                url: str, param: str) -> None:
    target = url.format(x="resp_a%00b", **ids)
    body = {"query": "q"} if url.endswith("search") else (
        {"documents": [{"text": "t"}]} if method == "POST" else None)
    resp = http.request(method, target, json=body)
    assert "U+0000" in assert_envelope(resp, 400, param)["message"]


def test_nul_in_a_query_parameter_name(http: httpx.Client) -> None:
    assert_envelope(http.get("/v1/indexes?a%00=1"), 400)


def test_erasure_subject_length(http: httpx.Client) -> None:
    resp = http.delete("/v1/identity/memory", params={"subject": "s" * 3000})
    assert_envelope(resp, 400, "subject")


# -- indexes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{"documents": [{"text": %s}]}', "documents[0].text"),
    ('{"documents": [{"text": "t", "fold": %s}]}', "documents[0].fold"),
    ('{"documents": [{"text": "t", "tags": ["a", %s]}]}', "documents[0].tags[1]"),
    ('{"documents": [{"text": "t", "metadata": {"k": {"n": [%s]}}}]}',
     "documents[0].metadata.k.n[0]"),
    ('{"documents": [{"text": "t", "metadata": {%s: 1}}]}', "documents[0].metadata"),
])
def test_documents_bad_text(http: httpx.Client, ids: dict[str, str], template: str,
                            param: str, value: str) -> None:
    bad_value(http, f"/v1/indexes/{ids['idx']}/documents", template % value, param)


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{"query": %s}', "query"),
    ('{"query": "q", "filters": {"lane": %s}}', "filters.lane"),
    ('{"query": "q", "filters": {"fold": %s}}', "filters.fold"),
    ('{"query": "q", "filters": {"tags": [%s]}}', "filters.tags[0]"),
    ('{"query": "q", "filters": {"metadata": {"k": %s}}}', "filters.metadata.k"),
])
def test_search_bad_text(http: httpx.Client, ids: dict[str, str], template: str, param: str,
                         value: str) -> None:
    bad_value(http, f"/v1/indexes/{ids['idx']}/search", template % value, param)


@pytest.mark.parametrize("value", BAD_TEXT)
def test_index_and_token_bad_text(http: httpx.Client, value: str) -> None:
    bad_value(http, "/v1/indexes", f'{{"name": "n", "model": {value}}}', "model")
    bad_value(http, "/v1/identity/tokens",
              f'{{"realm": "r", "zone": "z", "tier": {value}}}', "tier")
    bad_value(http, "/v1/identity/revoke", f'{{"token": {value}}}', "token")


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_vectors_and_metadata_numbers(http: httpx.Client, ids: dict[str, str],
                                      value: str) -> None:
    vector = ", ".join(["0.5"] * 383 + [value])
    bad_value(http, f"/v1/indexes/{ids['idx']}/documents",
              f'{{"documents": [{{"text": "t", "vector": [{vector}]}}]}}',
              "documents[0].vector[383]")
    bad_value(http, f"/v1/indexes/{ids['idx']}/search", f'{{"query": [{vector}]}}',
              "query[383]")
    bad_value(http, f"/v1/indexes/{ids['idx']}/documents",
              f'{{"documents": [{{"text": "t", "metadata": {{"n": {value}}}}}]}}',
              "documents[0].metadata.n")
    bad_value(http, "/v1/identity/revoke", f'{{"jti": "{"a" * 32}", "expires_at": {value}}}',
              "expires_at")


@pytest.mark.parametrize("big", [1e300, 3e38, -1e17])
def test_vector_components_keep_distances_finite(http: httpx.Client, ids: dict[str, str],
                                                 big: float) -> None:
    vector = [0.5] * 383 + [big]
    resp = http.post(f"/v1/indexes/{ids['idx']}/documents",
                     json={"documents": [{"text": "t", "vector": vector}]})
    assert_envelope(resp, 400, "documents[0].vector[383]")
    resp = http.post(f"/v1/indexes/{ids['idx']}/search", json={"query": vector})
    assert_envelope(resp, 400, "query[383]")


def test_zero_vectors_are_refused_under_cosine(http: httpx.Client, ids: dict[str, str]) -> None:
    # The second rounds to zero as float32; the third squares to zero there.
    for zero in ([0.0] * 384, [1e-46] * 384, [1e-20] * 384):
        resp = http.post(f"/v1/indexes/{ids['idx']}/search", json={"query": zero})
        assert assert_envelope(resp, 400, "query")["code"] == "zero_vector"
        resp = http.post(f"/v1/indexes/{ids['idx']}/documents",
                         json={"documents": [{"text": "t", "vector": zero}]})
        assert assert_envelope(resp, 400, "documents[0].vector")["code"] == "zero_vector"
    # The hashing model embeds text without a word as the zero vector.
    resp = http.post(f"/v1/indexes/{ids['idx']}/documents",
                     json={"documents": [{"text": "!!!"}]})
    assert assert_envelope(resp, 400, "documents[0].text")["code"] == "zero_vector"


def test_long_tags_are_refused(http: httpx.Client, ids: dict[str, str]) -> None:
    resp = http.post(f"/v1/indexes/{ids['idx']}/documents",
                     json={"documents": [{"text": "t", "tags": ["x" * 257]}]})
    assert_envelope(resp, 400, "documents[0].tags[0]")


# -- what is stored comes back as it was sent ------------------------------------------------

UNICODE = "Grüße, 日本語, 😀 (\\ud83d\\ude00), \\u0001 and \\u007f"


def test_valid_unicode_round_trips(http: httpx.Client, ids: dict[str, str]) -> None:
    text = json.loads(f'"{UNICODE} \\ud83d\\ude00"')
    resp = post_raw(http, f"/v1/indexes/{ids['idx']}/documents",
                    json.dumps({"documents": [{"text": text, "tags": [text[:20]],
                                               "metadata": {"k": text}}]}))
    assert resp.status_code == 200, resp.text
    listed = http.get(f"/v1/indexes/{ids['idx']}/documents").json()["data"]
    stored = next(d for d in listed if d["text"] == text)
    assert stored["metadata"] == {"k": text} and stored["tags"] == [text[:20]]
    created = post_raw(http, "/v1/responses", json.dumps(
        {"model": "lukhas-matriz", "input": text, "metadata": {"k": text[:100]}}))
    assert created.status_code == 200, created.text
    rid = created.json()["id"]
    assert http.get(f"/v1/responses/{rid}").json()["metadata"] == {"k": text[:100]}
    items = http.get(f"/v1/responses/{rid}/input_items").json()["data"]
    assert items[0]["content"][0]["text"] == text
