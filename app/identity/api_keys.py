"""Static bootstrap API keys from `LUKHAS_API_KEYS`, or one generated into the data dir."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from pathlib import Path

from app.identity.base import Identity
from app.identity.secret_file import kept_secret

KEY_FILE = "api_key"
KEY_PREFIX = "lk-"


def key_subject(key: str) -> str:
    """A stable, non-secret subject for an API key (a prefix of its SHA-256)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


class ApiKeyResolver:
    """Checks a bearer key against every configured key in constant time."""

    def __init__(self, keys: Sequence[str], tier: str, scopes: frozenset[str]) -> None:
        self._keys = [(k.encode(), key_subject(k)) for k in keys]
        self._tier = tier
        self._scopes = scopes

    async def resolve(self, credential: str) -> Identity | None:
        """The key's identity, or None if it matches no key."""
        presented = credential.encode()
        subject: str | None = None
        # Compare against every key, never stopping early, so timing says nothing.
        for key, key_sub in self._keys:
            if hmac.compare_digest(presented, key):
                subject = key_sub
        if subject is None:
            return None
        return Identity(subject=subject, scopes=self._scopes, tier=self._tier, kind="api_key")


def load_or_create_key(data_dir: Path) -> tuple[str, bool]:
    """The key kept in the data dir, created (mode 0600) if missing; True if created now."""
    return kept_secret(data_dir / KEY_FILE, lambda: KEY_PREFIX + secrets.token_urlsafe(32))
