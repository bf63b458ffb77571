"""Values no request may carry (NUL, unpaired surrogates, non-finite numbers, unsafe
integers, runaway nesting) in Responses, Chat Completions and Embeddings bodies: each is a
400 naming where it was, never a 500."""

from __future__ import annotations

import httpx
import pytest

from app.json import MAX_DEPTH, BadValue, check_value, loads
from tests.api.test_bad_input import assert_envelope
from tests.utils.bad_input import BAD_NUMBERS, BAD_TEXT, bad_value, post_raw

MODEL = '"lukhas-matriz"'


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
    # Refused at the door, before any route parses it (app/middleware/body_limit.py).
    assert assert_envelope(resp, 400)["code"] == "json_too_deep"


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


def test_every_api_route_checks_its_values() -> None:
    from fastapi.routing import APIRoute

    from app.api.protocol import CheckedRoute
    from app.main import API_ROUTERS

    routes = [r for router in API_ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 18
    assert [r.path for r in routes if not isinstance(r, CheckedRoute)] == []
