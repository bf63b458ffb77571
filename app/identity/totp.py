"""Time-based one-time passwords (RFC 6238) with pyotp, and their secrets sealed at rest.

A code is accepted for the current 30-second step or one step either side (clock drift, RFC
6238 §6). The step that matched is returned so the caller can refuse it, and every earlier
step, from then on (§5.2: a code is good once). Secrets are sealed with AES-256-GCM under a
key that lives outside the database (`LUKHAS_TOTP_KEY`, or a file in the data dir), with the
account id as associated data: a database dump alone gives no secret away, and a sealed
secret copied onto another account does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.identity.secret_file import kept_secret

KEY_FILE = "totp_key"
DIGITS = 6
PERIOD = 30
DRIFT_STEPS = 1
_VERSION = b"\x01"
_CODE = re.compile(r"^[0-9]{6}$")


class SealError(ValueError):
    """A sealed secret does not open with the configured key."""


class TotpSeal:
    """AES-256-GCM over TOTP secrets; the account id is bound in as associated data."""

    def __init__(self, key_material: str) -> None:
        # The material is a random secret of 32+ bytes; SHA-256 fits it to AES-256's key size.
        self._aead = AESGCM(hashlib.sha256(key_material.encode()).digest())

    @classmethod
    def from_settings(cls, configured: str | None, data_dir: Path) -> TotpSeal:
        """The configured key, or the one kept in the data dir (made on first use)."""
        if configured:  # its length is checked with the other settings
            return cls(configured)
        material, _ = kept_secret(data_dir / KEY_FILE, lambda: secrets.token_urlsafe(32))
        return cls(material)

    def seal(self, secret: str, account_id: str) -> bytes:
        """version byte, 12-byte nonce, ciphertext and tag."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), account_id.encode())

    def open(self, sealed: bytes, account_id: str) -> str:
        """The secret, or SealError if the key or the account does not match."""
        if sealed[:1] != _VERSION:
            raise SealError("unknown sealed-secret version")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], account_id.encode()).decode()
        except InvalidTag as exc:
            raise SealError("the TOTP secret does not open with the configured key") from exc


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends for HMAC-SHA1."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app scans."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=username, issuer_name=issuer)


def is_code(code: str) -> bool:
    """True if `code` is shaped like a code (six digits)."""
    return _CODE.match(code) is not None


def matching_step(secret: str, code: str, *, after: int | None,
                  now: float | None = None) -> int | None:
    """The time step whose code is `code` (within the drift window and later than `after`),
    or None."""
    if not is_code(code):
        return None
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int((time.time() if now is None else now) // PERIOD)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared, so the time taken says nothing about which matched.
        if hmac.compare_digest(otp.generate_otp(step), code) and (after is None or step > after):
            found = step
    return found
