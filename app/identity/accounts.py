"""Accounts for people: what one is, the username rule, and the tier a login reaches.

Tiers follow the factors presented (docs/identity.md): a password alone gives T1, a
password and a one-time code T2, and T3 only where an administrator has raised the
account's `max_tier`; `max_tier` also caps (an account held at T1 never gets more).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{2,63}$")
TIER_ORDER = ("T1", "T2", "T3")
DEFAULT_MAX_TIER = "T2"


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str
    alias: str
    password_hash: str
    max_tier: str
    totp_secret: bytes | None
    totp_pending: bytes | None
    totp_last_step: int | None
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime

    @property
    def totp_enabled(self) -> bool:
        """True once an enrolment has been confirmed with a first code."""
        return self.totp_secret is not None

    def locked_at(self, now: datetime) -> bool:
        """True while a lockout is running."""
        return self.locked_until is not None and self.locked_until > now


def login_tier(factors: int, max_tier: str) -> str:
    """The tier a login with `factors` (1 or 2) reaches on an account capped at `max_tier`."""
    earned = "T1" if factors < 2 else ("T3" if max_tier == "T3" else "T2")
    return min(earned, max_tier, key=TIER_ORDER.index)
