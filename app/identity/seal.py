"""AES-256-GCM sealing under a key kept outside the database, each value bound to a context.

A sealed value is a version byte, a 12-byte random nonce, the ciphertext and its 16-byte
tag. The context (an account id, an owner) goes in as associated data: a value sealed for
one context does not open for another, and one altered by a single bit does not open at all.
The key is configured (`LUKHAS_..._KEY`), or made on first start and kept in the data dir.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.identity.secret_file import kept_secret

_VERSION = b"\x01"
_NONCE = 12


class SealError(ValueError):
    """A sealed value does not open with the configured key and context."""


class Seal:
    """Seals and opens bytes with AES-256-GCM; the context is bound in as associated data."""

    def __init__(self, key_material: str) -> None:
        # The material is a random secret of 32+ bytes; SHA-256 fits it to AES-256's key size.
        self._aead = AESGCM(hashlib.sha256(key_material.encode()).digest())

    @classmethod
    def from_settings(cls, configured: str | None, data_dir: Path, key_file: str) -> Seal:
        """The configured key, or the one kept in `data_dir / key_file` (made on first use)."""
        if configured:  # its length is checked with the other settings
            return cls(configured)
        material, _ = kept_secret(data_dir / key_file, lambda: secrets.token_urlsafe(32))
        return cls(material)

    def seal(self, data: bytes, context: bytes) -> bytes:
        """Version byte, nonce, ciphertext and tag."""
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, data, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The data, or SealError if the key, the context or a byte does not match."""
        if sealed[:1] != _VERSION or len(sealed) < 1 + _NONCE + 16:
            raise SealError("unknown sealed-value version")
        try:
            return self._aead.decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], context)
        except InvalidTag as exc:
            raise SealError("the sealed value does not open with the configured key") from exc
