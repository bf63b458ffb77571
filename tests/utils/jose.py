"""Hand-made JWS compact tokens (RFC 7515), for tests that need exactly the bytes given.

PyJWT normalises what it signs; an attacker does not, so the abuse tests build tokens here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def b64(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def segment(value: dict[str, Any] | str) -> str:
    """A header or payload segment: a dict as JSON, a string as the exact JSON text."""
    return b64((value if isinstance(value, str) else json.dumps(value)).encode())


def hmac_signed(header: dict[str, Any] | str, payload: dict[str, Any] | str, key: bytes,
                digest: Any = hashlib.sha256) -> str:
    """header.payload signed with HMAC over `key` (SHA-256 unless `digest` says otherwise)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), digest).digest())}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """An `alg: none` style token: an empty signature."""
    return f"{segment(header)}.{segment(payload)}."


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The header and payload of a token, decoded, and its signature segment."""
    head, body, sig = token.split(".")
    return json.loads(unb64(head)), json.loads(unb64(body)), sig
