"""`app.json.loads` reads a body as the standard library does, whichever parser read it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.json import loads


def _stdlib(body: bytes | str) -> Any:
    return json.loads(body, parse_int=lambda lit: int(lit) if len(lit) <= 40 else "LONG")


def _same(body: bytes | str) -> None:
    try:
        expected: Any = _stdlib(body)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            loads(body)
        return
    got = loads(body)
    if "LONG" in repr(expected):  # an over-long integer, left unconverted
        assert "_LongInteger" in repr(got)
    else:
        assert repr(got) == repr(expected)  # the same values, of the same types


@pytest.mark.parametrize("body", [
    b'{"a": 1, "b": [1, 2.5, "x", null, true]}', b"123456789012345678901",
    b'{"n": 18446744073709551615}', b'{"n": -9223372036854775809}',
    b"[-999999999999999999999, 1e19]", b"NaN", b"[1e400]",
    b'"\\ud800"', b'{"a": 1, "a": 2}', b"\xef\xbb\xbf{}", b"{bad", b"", b"[-0, 0.1, 1e-400]",
    '{"s": "\\u00e9", "t": "é"}', b'"\xed\xa0\x80"', b"\xff", b'{"x": "12345678901234567890"}',
])
def test_fixed_bodies(body: bytes | str) -> None:
    _same(body)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(_values)
@settings(max_examples=300, deadline=None)
def test_generated_bodies(value: Any) -> None:
    _same(json.dumps(value).encode())
