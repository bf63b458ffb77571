"""The shape of a ΛiD token before any key is touched: canonical base64url segments, a closed
JOSE header and a closed, strictly typed claim set (RFC 7515 §4.1, RFC 7519 §4.1).

Anything outside this shape is `token_malformed`: a bool is not a time, a float is not a time,
`once` is a boolean or absent, strings are bounded and free of NUL, control characters and
lone surrogates. The header may name only `alg` (exactly HS256), `kid` (a short name of safe
characters, never a path) and `typ`; key-locating parameters (`jku`, `x5u`, `jwk`, `x5c`)
and `crit` are refused rather than ignored.
"""

from __future__ import annotations

import base64
import re
from typing import Any

# A kid is a key's name in the key ring (and a file name in LUKHAS_LID_KEYS_DIR).
KID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_HEADER_KEYS = frozenset({"alg", "kid", "typ"})
# Year 3000 (UTC): far beyond any token lifetime, well inside 2**53 and every int type.
MAX_TIME = 32_503_680_000
_TIMES = ("iat", "nbf", "exp")
# Claim → (shortest, longest) accepted value, in characters; a token may hold no scope.
_STRINGS = {"iss": (1, 64), "sub": (1, 128), "tier": (1, 32), "scope": (0, 1024),
            "jti": (1, 64)}
_CLAIMS = frozenset({*_TIMES, *_STRINGS, "once"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MalformedToken(ValueError):
    """The token is not shaped like a ΛiD token; the message says how."""


def check_segments(token: str) -> None:
    """Three canonical base64url segments: no padding, no stray characters, no spare bits
    (otherwise several spellings of one signature would all verify)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a token has three dot-separated parts")
    for part in parts:
        if not part or not _SEGMENT.fullmatch(part) or len(part) % 4 == 1:
            raise MalformedToken("each part must be non-empty unpadded base64url")
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
            raise MalformedToken("each part must be canonical base64url")


def check_header(header: dict[str, Any]) -> str:
    """The kid of a well-formed header."""
    extra = set(header) - _HEADER_KEYS
    if extra:
        raise MalformedToken(f"the header may not carry {sorted(extra)}")
    if header.get("alg") != "HS256":
        raise MalformedToken("the header must name alg HS256")
    if "typ" in header and header["typ"] != "JWT":
        raise MalformedToken("the header's typ must be JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not KID.fullmatch(kid):
        raise MalformedToken("the header's kid must be 1-64 characters of [A-Za-z0-9._-]")
    return kid


def _clean(value: Any, shortest: int, longest: int) -> bool:
    if type(value) is not str or not shortest <= len(value) <= longest \
            or _CONTROL.search(value):
        return False
    try:
        value.encode("utf-8")  # lone surrogates (a JSON "\ud800") do not encode
    except UnicodeEncodeError:
        return False
    return True


def check_claims(claims: dict[str, Any]) -> None:
    """Every claim present and of its type; no claim ΛiD does not define."""
    extra = set(claims) - _CLAIMS
    if extra:
        raise MalformedToken(f"the token carries claims ΛiD does not define: {sorted(extra)}")
    missing = (set(_CLAIMS) - {"once"}) - set(claims)
    if missing:
        raise MalformedToken(f"the token lacks {sorted(missing)}")
    for name in _TIMES:
        value = claims[name]
        if type(value) is not int or not 0 <= value <= MAX_TIME:
            raise MalformedToken(f"'{name}' must be an integer time between 0 and {MAX_TIME}")
    if claims["iat"] > claims["exp"] or claims["nbf"] > claims["exp"]:
        raise MalformedToken("'iat' and 'nbf' may not be later than 'exp'")
    for name, (shortest, longest) in _STRINGS.items():
        if not _clean(claims[name], shortest, longest):
            raise MalformedToken(
                f"'{name}' must be a string of {shortest}-{longest} printable characters")
    if "once" in claims and type(claims["once"]) is not bool:
        raise MalformedToken("'once' must be a boolean")
