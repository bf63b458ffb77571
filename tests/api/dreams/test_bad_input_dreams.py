"""Bad values in a dream's body, id and query: each a 400 naming where it was, never a 500
(the live server)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_bad_input import assert_envelope
from tests.utils.bad_input import BAD_NUMBERS, BAD_TEXT, bad_value

URL = "/v1/dreams"


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize(("template", "param"), [
    ('{{"model": "lukhas-matriz", "seed": {v}}}', "seed"),
    ('{{"model": {v}, "seed": "x"}}', "model"),
    ('{{"model": "lukhas-matriz", "seed": "x", "metadata": {{"k": {v}}}}}', "metadata.k"),
    ('{{"model": "lukhas-matriz", "seed": "x", "constraints": {{"must_include": [{v}]}}}}',
     "constraints.must_include[0]"),
    ('{{"model": "lukhas-matriz", "seed": "x", "constraints": {{"sources": '
     '{{"indexes": [{v}]}}}}}}', "constraints.sources.indexes[0]"),
])
def test_bad_text_in_the_body(http: httpx.Client, template: str, param: str,
                              text: str) -> None:
    bad_value(http, URL, template.format(v=text), param)


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize("field", ["max_steps", "max_scenarios", "time_budget_seconds"])
def test_bad_numbers_in_the_constraints(http: httpx.Client, field: str, number: str) -> None:
    body = f'{{"model": "lukhas-matriz", "seed": "x", "constraints": {{"{field}": {number}}}}}'
    bad_value(http, URL, body, f"constraints.{field}")


@pytest.mark.parametrize(("method", "path", "param"), [
    ("GET", "/v1/dreams/a%00b", "dream_id"),
    ("POST", "/v1/dreams/a%00b/cancel", "dream_id"),
    ("DELETE", "/v1/dreams/a%00b", "dream_id"),
    ("GET", "/v1/dreams?after=a%00b", "after"),
    ("GET", "/v1/dreams?limit=0", "limit"),
    ("GET", "/v1/dreams?order=sideways", "order"),
    ("GET", "/v1/dreams/dream_x?stream=true&starting_after=-2", "starting_after"),
    ("GET", "/v1/dreams/dream_x?stream=maybe", "stream"),
])
def test_bad_ids_and_query_values(http: httpx.Client, method: str, path: str,
                                  param: str) -> None:
    assert_envelope(http.request(method, path), 400, param)


def test_a_dream_that_is_not_there(http: httpx.Client) -> None:
    for method, path in (("GET", "/v1/dreams/dream_nope"), ("DELETE", "/v1/dreams/dream_nope"),
                         ("POST", "/v1/dreams/dream_nope/cancel"),
                         ("GET", "/v1/dreams/dream_nope?stream=true")):
        error = assert_envelope(http.request(method, path), 404, "dream_id")
        assert error["code"] == "dream_not_found"
