"""Time-based one-time passwords (RFC 6238) with pyotp, and their secrets sealed at rest.

A code is accepted for the current 30-second step or one step either side (clock drift, RFC
6238 §6). The step that matched is returned so the caller can refuse it, and every earlier
step, from then on (§5.2: a code is good once). Secrets are sealed with AES-256-GCM under a
key that lives outside the database (`LUKHAS_TOTP_KEY`, or a file in the data dir), with the
account id as associated data: a database dump alone gives no secret away, and a sealed
secret copied onto another account does not open.
"""

from __future__ import annotations

import hmac
import re
import time
from pathlib import Path

import pyotp

from app.identity.seal import Seal, SealError

KEY_FILE = "totp_key"
DIGITS = 6
PERIOD = 30
DRIFT_STEPS = 1
_CODE = re.compile(r"^[0-9]{6}$")


class TotpSeal:
    """TOTP secrets sealed at rest; the account id is bound in as associated data."""

    def __init__(self, key: str | Seal) -> None:
        self._seal = key if isinstance(key, Seal) else Seal(key)

    @classmethod
    def from_settings(cls, configured: str | None, data_dir: Path) -> TotpSeal:
        """The configured key, or the one kept in the data dir (made on first use)."""
        return cls(Seal.from_settings(configured, data_dir, KEY_FILE))

    def seal(self, secret: str, account_id: str) -> bytes:
        """version byte, 12-byte nonce, ciphertext and tag."""
        return self._seal.seal(secret.encode(), account_id.encode())

    def open(self, sealed: bytes, account_id: str) -> str:
        """The secret, or SealError if the key or the account does not match."""
        try:
            return self._seal.open(sealed, account_id.encode()).decode()
        except SealError as exc:
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
