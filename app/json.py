"""JSON in and out: responses rendered by orjson; request bodies read and checked strictly.

What a request body may hold is I-JSON (RFC 7493, https://www.rfc-editor.org/rfc/rfc7493):
strings of Unicode scalar values (no unpaired UTF-16 surrogates), finite numbers, integers
within ±(2**53 − 1) so that every JSON reader (JavaScript's included) reads them exactly. On
top of that, no string holds U+0000: PostgreSQL `text` and `jsonb` cannot store it. We reject
rather than re-encode: a lossless escape would have to be undone on every read path (stored
responses, documents, search hits, sessions) and still leak into SQL filters; no caller's
real text needs a NUL, and the 400 names the field that held it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSON

MAX_SAFE_INTEGER = 2**53 - 1
# orjson refuses to write deeper than 255 levels, and nothing we accept needs more than a
# JSON Schema's handful; what we store is written back out, so it must stay writable.
MAX_DEPTH = 64
_LONG_INT_DIGITS = 40  # beyond any safe integer; spares int() the 4,300-digit limit
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# 19 digits in a row: an integer orjson might read as a float (beyond 64 bits), or text.
# Found by turning every digit into "0" and looking for 19 of them: a regular expression
# (`[0-9]{19}`) costs six times what orjson's whole parse does.
_LONG_RUN = b"0" * 19
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGITS_TO_ZERO_TEXT = str.maketrans("123456789", "000000000")


class JSONResponse(_StarletteJSON):
    """`application/json` rendered by orjson."""

    def render(self, content: Any) -> bytes:
        """Serialise `content`."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class BadValue(ValueError):
    """A value a request may not carry; `param` is where it was (`input[0].text`)."""

    def __init__(self, param: str | None, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


class _LongInteger:
    """An integer literal too long to be worth converting (always out of range)."""


def loads(body: bytes | str) -> Any:
    """Parse JSON as the standard library does, but leave over-long integers unconverted
    (the check names them); raises ValueError (JSONDecodeError, UnicodeDecodeError).

    orjson reads it first, several times faster, when it gives the same values: it refuses
    what the standard library reads leniently (NaN and Infinity, lone surrogates, numbers
    beyond a double, other encodings than UTF-8), and those bodies, like any it refuses, are
    read again by the standard library, so their answer (a value `check_value` names, or
    the same parse error) is as it was. An integer of 19 digits or more, which orjson may
    read as a float, sends the body the same way.
    """
    if isinstance(body, str):
        long_digits = _LONG_RUN.decode() in body.translate(_DIGITS_TO_ZERO_TEXT)
    else:
        long_digits = _LONG_RUN in body.translate(_DIGITS_TO_ZERO)
    if not long_digits:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body, parse_int=_parse_int)


def _parse_int(literal: str) -> int | _LongInteger:
    return int(literal) if len(literal) <= _LONG_INT_DIGITS else _LongInteger()


def param_path(parent: str | None, key: str | int) -> str:
    """`parent[3]`, `parent.key`, or `parent["odd key"]` for a key that isn't a plain name."""
    if isinstance(key, int):
        return f"{parent or ''}[{key}]"
    if _KEY.match(key):
        return f"{parent}.{key}" if parent else key
    shown = key[:64] + ("…" if len(key) > 64 else "")
    return f"{parent or ''}[{json.dumps(shown, ensure_ascii=False)}]"


def _named(param: str | None) -> str:
    return f"'{param}'" if param else "The body"


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (NUL, unpaired surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired UTF-16 surrogate; strings must be valid Unicode"
    return None


def check_text(value: str, param: str | None) -> None:
    """Raise BadValue if `value` cannot be stored as text."""
    problem = text_problem(value)
    if problem is not None:
        raise BadValue(param, f"{_named(param)} {problem}.")


def check_value(value: Any, param: str | None = None) -> None:
    """Raise BadValue for a value in `value` that a request may not carry (scalars of one
    container are checked before the containers nested in it)."""
    _check_scalar(value, param)
    stack: list[tuple[dict[str, Any] | list[Any], str | None, int]] = []
    if isinstance(value, dict | list):
        stack.append((value, param, 0))
    while stack:
        item, where, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise BadValue(where, f"{_named(where)} is nested deeper than {MAX_DEPTH} levels.")
        children: Iterable[tuple[str | int, Any]]
        if isinstance(item, list):
            children = enumerate(item)
        else:
            for name in item:
                if (problem := text_problem(name)) is not None:
                    raise BadValue(
                        where, f"A key in {_named(where) if where else 'the body'} {problem}.")
            children = item.items()
        nested = []
        for key, child in children:
            # Inline and without building the child's name unless needed: a body may hold
            # a million vector components.
            kind = type(child)
            if kind is float:
                if not math.isfinite(child):
                    _check_scalar(child, param_path(where, key))
            elif kind is str:
                if "\x00" in child or not child.isascii():
                    _check_scalar(child, param_path(where, key))
            elif kind is dict or kind is list:
                nested.append((child, param_path(where, key), depth + 1))
            elif not (kind is int and -MAX_SAFE_INTEGER <= child <= MAX_SAFE_INTEGER):
                _check_scalar(child, param_path(where, key))
        stack.extend(reversed(nested))


def _check_scalar(item: Any, where: str | None) -> None:
    if isinstance(item, str):
        check_text(item, where)
    elif isinstance(item, bool) or item is None:
        return
    elif isinstance(item, int | _LongInteger):
        if isinstance(item, _LongInteger) or abs(item) > MAX_SAFE_INTEGER:
            raise BadValue(where, f"{_named(where)} is outside the integers JSON carries "
                                  f"exactly (±{MAX_SAFE_INTEGER}).")
    elif isinstance(item, float) and not math.isfinite(item):
        raise BadValue(where, f"{_named(where)} must be a finite number.")
