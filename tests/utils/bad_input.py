"""Bad JSON values as raw literals, and helpers to send them (tests/api/test_bad_input_*)."""

from __future__ import annotations

import httpx

from tests.api.test_bad_input import assert_envelope

NUL = '"a\\u0000b"'
SURROGATE = '"x\\ud800"'
LOW_SURROGATE = '"\\udfff"'
BAD_TEXT = [NUL, SURROGATE, LOW_SURROGATE]
BAD_NUMBERS = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9007199254740992",
               "-9223372036854775809", "1" + "0" * 5000]


def post_raw(http: httpx.Client, url: str, body: str) -> httpx.Response:
    """POST `body` as it is written (json.dumps cannot write some of these literals)."""
    return http.post(url, content=body.encode(), headers={"content-type": "application/json"})


def bad_value(http: httpx.Client, url: str, body: str, param: str) -> None:
    """`body` is refused with a 400 `invalid_value` naming `param`."""
    error = assert_envelope(post_raw(http, url, body), 400, param)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_value"
