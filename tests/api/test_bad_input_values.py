"""Values no request may carry (NUL, unpaired surrogates, non-finite numbers, unsafe
integers, runaway nesting), in every kind of place a caller can put them: each is a 400
naming where it was, never a 500. Valid Unicode, astral characters included, round-trips."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from app.json import MAX_DEPTH, BadValue, check_value, loads
from tests.api.test_bad_input import assert_envelope

NUL = '"a\\u0000b"'
SURROGATE = '"x\\ud800"'
LOW_SURROGATE = '"\\udfff"'
BAD_TEXT = [NUL, SURROGATE, LOW_SURROGATE]
BAD_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9007199254740992",
               "-9223372036854775809", "1" + "0" * 5000]
MODEL = '"lukhas-matriz"'


def post_raw(http: httpx.Client, url: str, body: str) -> httpx.Response:
    return http.post(url, content=body.encode(), headers={"content-type": "application/json"})


def bad_value(http: httpx.Client, url: str, body: str, param: str) -> None:
    error = assert_envelope(post_raw(http, url, body), 400, param)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_value"


# -- the check itself ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "param"), [
    ('{"input": [{"content": [{"text": "ok"}, {"text": "a\\u0000"}]}]}',
     "input[0].content[1].text"),
    ('{"metadata": {"key": "\\ud800"}}', "metadata.key"),
    ('{"metadata": {"odd key": 1e400}}', 'metadata["odd key"]'),
    ('{"metadata": {"a\\u0000": "v"}}', "metadata"),
    ('{"x": [1, 2, 9007199254740992]}', "x[2]"),
    ('{"x": -9007199254740991, "y": NaN}', "y"),
    ("Infinity", None),
])
def test_the_first_bad_value_is_named(raw: str, param: str | None) -> None:
    with pytest.raises(BadValue) as caught:
        check_value(loads(raw))
    assert caught.value.param == param


def test_safe_values_pass() -> None:
    check_value(loads('{"a": [9007199254740991, -9007199254740991, 1e308, "\\ud83d\\ude00",'
                      ' "é\\u00ff", null, true, {"b": []}]}'))
    check_value(loads("[" * MAX_DEPTH + "]" * MAX_DEPTH))
    with pytest.raises(BadValue):
        check_value(loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)))


# -- /v1/responses and /v1/chat/completions ----------------------------------------------


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{"model": %s, "input": "hi"}', "model"),
    ('{"model": MODEL, "input": %s}', "input"),
    ('{"model": MODEL, "input": [{"role": "user", "content": [{"type": "input_text", '
     '"text": "ok"}, {"type": "input_text", "text": %s}]}]}', "input[0].content[1].text"),
    ('{"model": MODEL, "input": "hi", "instructions": %s}', "instructions"),
    ('{"model": MODEL, "input": "hi", "previous_response_id": %s}', "previous_response_id"),
    ('{"model": MODEL, "input": "hi", "metadata": {"key": %s}}', "metadata.key"),
    ('{"model": MODEL, "input": "hi", "user": %s}', "user"),
    ('{"model": MODEL, "input": "hi", "tools": [{"type": "function", "name": %s}]}',
     "tools[0].name"),
    ('{"model": MODEL, "input": "hi", "some_future_field": [%s]}', "some_future_field[0]"),
])
def test_responses_bad_text(http: httpx.Client, template: str, param: str, value: str) -> None:
    bad_value(http, "/v1/responses", template.replace("MODEL", MODEL) % value, param)


@pytest.mark.parametrize("value", BAD_TEXT)
def test_responses_bad_metadata_key(http: httpx.Client, value: str) -> None:
    bad_value(http, "/v1/responses",
              f'{{"model": {MODEL}, "input": "hi", "metadata": {{{value}: "v"}}}}', "metadata")


@pytest.mark.parametrize("value", BAD_NUMBERS)
@pytest.mark.parametrize(("template", "param"), [
    ('{"model": MODEL, "input": "hi", "max_output_tokens": %s}', "max_output_tokens"),
    ('{"model": MODEL, "input": "hi", "temperature": %s}', "temperature"),
    ('{"model": MODEL, "input": "hi", "text": {"format": %s}}', "text.format"),
    ('{"model": MODEL, "input": "hi", "tools": [{"type": "function", "name": "f", '
     '"parameters": {"maximum": %s}}]}', "tools[0].parameters.maximum"),
    ('{"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "seed": %s}', "seed"),
    ('{"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": %s}',
     "max_tokens"),
])
def test_bad_numbers(http: httpx.Client, template: str, param: str, value: str) -> None:
    url = "/v1/chat/completions" if "messages" in template else "/v1/responses"
    bad_value(http, url, template.replace("MODEL", MODEL) % value, param)


def test_output_token_limits_are_bounded_by_the_context_window(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "hi",
                                            "max_output_tokens": 2**53 - 1})
    assert "context window" in assert_envelope(resp, 400, "max_output_tokens")["message"]
    for field in ("max_tokens", "max_completion_tokens"):
        resp = http.post("/v1/chat/completions", json={
            "model": "lukhas-matriz", "messages": [{"role": "user", "content": "hi"}],
            field: 10**12})
        assert_envelope(resp, 400, field)


@pytest.mark.parametrize("fmt", ['"json_schema"', "1e300", "[]", "true"])
def test_text_format_must_be_an_object(http: httpx.Client, fmt: str) -> None:
    assert_envelope(post_raw(http, "/v1/responses",
                             f'{{"model": {MODEL}, "input": "hi", "text": {{"format": {fmt}}}}}'),
                    400, "text.format")


def test_runaway_nesting(http: httpx.Client) -> None:
    deep = "[" * 300 + "]" * 300
    resp = post_raw(http, "/v1/responses",
                    f'{{"model": {MODEL}, "input": "hi", "tools": [{{"x": {deep}}}]}}')
    assert assert_envelope(resp, 400)["param"].startswith("tools[0].x[0]")


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{"model": %s, "messages": [{"role": "user", "content": "hi"}]}', "model"),
    ('{"model": MODEL, "messages": [{"role": "user", "content": %s}]}', "messages[0].content"),
    ('{"model": MODEL, "messages": [{"role": "user", "content": [{"type": %s}]}]}',
     "messages[0].content[0].type"),
    ('{"model": MODEL, "messages": [{"role": "user", "content": "hi", "name": %s}]}',
     "messages[0].name"),
])
def test_chat_bad_text(http: httpx.Client, template: str, param: str, value: str) -> None:
    bad_value(http, "/v1/chat/completions", template.replace("MODEL", MODEL) % value, param)


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{"model": %s, "input": "hi"}', "model"),
    ('{"model": "lukhas-hash-v1", "input": ["ok", %s]}', "input[1]"),
    ('{"model": "lukhas-hash-v1", "input": "hi", "encoding_format": %s}', "encoding_format"),
])
def test_embeddings_bad_text(http: httpx.Client, template: str, param: str,
                             value: str) -> None:
    bad_value(http, "/v1/embeddings", template % value, param)


def test_embeddings_bad_token_ids(http: httpx.Client) -> None:
    bad_value(http, "/v1/embeddings", '{"model": "lukhas-hash-v1", "input": [[1, 2], '
              '[3, 18446744073709551616]]}', "input[1][1]")


# -- path ids, cursors, query parameters ---------------------------------------------------


@pytest.fixture(scope="module")
def ids(base_url: str) -> Iterator[dict[str, str]]:
    from tests.conftest import KEY_A

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


def test_vector_components_must_fit_float32(http: httpx.Client, ids: dict[str, str]) -> None:
    vector = [0.5] * 383 + [1e300]
    resp = http.post(f"/v1/indexes/{ids['idx']}/documents",
                     json={"documents": [{"text": "t", "vector": vector}]})
    assert_envelope(resp, 400, "documents[0].vector[383]")
    resp = http.post(f"/v1/indexes/{ids['idx']}/search", json={"query": vector})
    assert_envelope(resp, 400, "query[383]")


def test_zero_vectors_are_refused_under_cosine(http: httpx.Client, ids: dict[str, str]) -> None:
    for zero in ([0.0] * 384, [1e-46] * 384):  # the second rounds to zero as float32
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
