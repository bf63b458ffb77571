"""ΛiD aliases: `lid#<REALM>/<ZONE>/v<major>.<32 lowercase hex>-<crc32 as 8 hex>`.

The CRC32 (IEEE, as `zlib.crc32`) covers everything before the last dash, so a mistyped
alias is caught without touching a key.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

_ALIAS = re.compile(
    r"^lid#(?P<realm>[A-Za-z0-9_-]{1,32})/(?P<zone>[A-Za-z0-9_-]{1,32})"
    r"/v(?P<major>[0-9]{1,4})\.(?P<id>[0-9a-f]{32})-(?P<crc>[0-9a-f]{8})$"
)
_PART = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class AliasError(ValueError):
    """The alias is malformed (`code` "token_malformed") or fails its CRC ("token_crc_mismatch")."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Alias:
    realm: str
    zone: str
    major: int
    id: str

    def __str__(self) -> str:
        body = f"lid#{self.realm}/{self.zone}/v{self.major}.{self.id}"
        return f"{body}-{crc_hex(body)}"


def crc_hex(body: str) -> str:
    """CRC32 of `body` as 8 lowercase hex digits."""
    return format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")


def new_alias(realm: str, zone: str, major: int = 1) -> Alias:
    """A fresh alias in `realm`/`zone` with a random 128-bit id."""
    for name, value in (("realm", realm), ("zone", zone)):
        if not _PART.fullmatch(value):
            raise ValueError(f"{name} must match [A-Za-z0-9_-]{{1,32}}: {value!r}")
    return Alias(realm, zone, major, secrets.token_hex(16))


def parse_alias(text: str) -> Alias:
    """Parse and CRC-check an alias."""
    match = _ALIAS.fullmatch(text)
    if match is None:
        raise AliasError("The token's subject is not a well-formed ΛiD alias.", "token_malformed")
    body = text[: text.rfind("-")]
    if crc_hex(body) != match["crc"]:
        raise AliasError("The token's subject fails its CRC check.", "token_crc_mismatch")
    return Alias(match["realm"], match["zone"], int(match["major"]), match["id"])
