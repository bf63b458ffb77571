"""The ΛiD signing key ring: keys by `kid`, one active for signing.

Rotation: add a key, make it active; tokens signed with the old one keep validating until
that key is removed (retired), which invalidates them. Keys come from `LUKHAS_LID_KEYS`
(JSON `{"kid": "secret"}`) and from `LUKHAS_LID_KEYS_DIR` (one file per key, named by its
kid). In the dev lane with no key configured, one is generated into the data dir.

A kid is only ever a key in the ring's dict, never a path: a token's kid is looked up, not
opened. Configured kids must still be short names of safe characters (`claims.KID`), the
only kids a token may name, so a key that no token could select is refused at start-up.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from app.identity.claims import KID
from app.identity.secret_file import kept_secret
from app.settings import Lane, Settings

MIN_SECRET_BYTES = 32
_PLACEHOLDERS = ("changeme", "change-me", "secret", "placeholder", "example", "password",
                 "dev", "test", "xxx")
DEV_KEY_FILE = "lid_dev_key"


class KeyRingError(ValueError):
    """The configured keys cannot be used."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: dict[str, bytes]
    active_kid: str

    def signing_key(self) -> tuple[str, bytes]:
        """The kid and secret that sign new tokens."""
        return self.active_kid, self.keys[self.active_kid]

    def get(self, kid: str) -> bytes | None:
        """The secret of `kid`, or None if it is unknown or retired."""
        return self.keys.get(kid)


def _weak(secret: str) -> str | None:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"shorter than {MIN_SECRET_BYTES} bytes"
    lowered = secret.lower()
    if any(word in lowered for word in _PLACEHOLDERS) and len(set(lowered)) < 16:
        return "a placeholder"
    return None


def load_keyring(
    keys_json: str | None, keys_dir: Path | None, active_kid: str | None, *, dev: bool,
    data_dir: Path,
) -> KeyRing:
    """Collect the keys, check them, pick the active one."""
    keys: dict[str, str] = {}
    if keys_json:
        try:
            parsed = json.loads(keys_json)
        except json.JSONDecodeError as exc:
            raise KeyRingError(f"LUKHAS_LID_KEYS is not valid JSON: {exc}") from exc
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise KeyRingError('LUKHAS_LID_KEYS must be a JSON object {"kid": "secret"}')
        keys.update(parsed)
    if keys_dir is not None:
        for path in sorted(keys_dir.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                keys[path.name] = path.read_text().strip()
    if not keys:
        if not dev:
            raise KeyRingError("No ΛiD signing key: set LUKHAS_LID_KEYS or LUKHAS_LID_KEYS_DIR.")
        keys["dev"], _ = kept_secret(data_dir / DEV_KEY_FILE,
                                     lambda: secrets.token_urlsafe(48))
    for kid in keys:
        if not KID.fullmatch(kid):
            raise KeyRingError(f"ΛiD key id {kid!r} must be 1-64 characters of [A-Za-z0-9._-], "
                               "not starting with a dot.")
    if not dev:
        for kid, secret in keys.items():
            problem = _weak(secret)
            if problem:
                raise KeyRingError(f"ΛiD key '{kid}' is {problem}; outside the dev lane every "
                                   f"key must be a random secret of {MIN_SECRET_BYTES}+ bytes.")
    if active_kid is None:
        if len(keys) != 1:
            raise KeyRingError("Several ΛiD keys: set LUKHAS_LID_ACTIVE_KID to the signing one.")
        active_kid = next(iter(keys))
    if active_kid not in keys:
        raise KeyRingError(f"LUKHAS_LID_ACTIVE_KID '{active_kid}' names no configured key.")
    return KeyRing({k: v.encode() for k, v in keys.items()}, active_kid)


def load_settings_keyring(settings: Settings) -> KeyRing:
    """The key ring the settings describe."""
    return load_keyring(
        settings.lid_keys.get_secret_value() if settings.lid_keys else None,
        settings.lid_keys_dir, settings.lid_active_kid, dev=settings.lane == Lane.DEV,
        data_dir=settings.data_dir,
    )
