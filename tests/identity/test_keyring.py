"""The ΛiD key ring: sources, the active key, and refusing weak keys outside dev."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.identity.keyring import KeyRingError, load_keyring

STRONG = "k3Y-9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"
STRONG2 = "Zq8-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"


def test_dev_lane_generates_and_keeps_a_key(tmp_path: Path) -> None:
    first = load_keyring(None, None, None, dev=True, data_dir=tmp_path)
    again = load_keyring(None, None, None, dev=True, data_dir=tmp_path)
    assert first.active_kid == "dev" and first.keys == again.keys
    assert len(first.keys["dev"]) >= 32
    assert (tmp_path / "lid_dev_key").stat().st_mode & 0o777 == 0o600


def test_outside_dev_a_key_is_required(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="No ΛiD signing key"):
        load_keyring(None, None, None, dev=False, data_dir=tmp_path)


@pytest.mark.parametrize("secret", ["short", "changeme", "changeme" * 5, "x" * 40])
def test_outside_dev_weak_keys_stop_the_start(tmp_path: Path, secret: str) -> None:
    with pytest.raises(KeyRingError, match="'k1' is"):
        load_keyring(json.dumps({"k1": secret}), None, None, dev=False, data_dir=tmp_path)


def test_keys_from_json_and_files_and_the_active_one(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    (keys_dir / "2026-11").write_text(STRONG2 + "\n")
    ring = load_keyring(json.dumps({"2026-10": STRONG}), keys_dir, "2026-11", dev=False,
                        data_dir=tmp_path)
    assert ring.signing_key() == ("2026-11", STRONG2.encode())
    assert ring.get("2026-10") == STRONG.encode()
    assert ring.get("retired") is None


def test_several_keys_need_an_active_kid(tmp_path: Path) -> None:
    both = json.dumps({"a": STRONG, "b": STRONG2})
    with pytest.raises(KeyRingError, match="LUKHAS_LID_ACTIVE_KID"):
        load_keyring(both, None, None, dev=False, data_dir=tmp_path)
    with pytest.raises(KeyRingError, match="names no configured key"):
        load_keyring(both, None, "c", dev=False, data_dir=tmp_path)
    with pytest.raises(KeyRingError, match="JSON"):
        load_keyring("{not json", None, None, dev=False, data_dir=tmp_path)


def test_serve_refuses_to_start_with_a_placeholder_key_outside_dev(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    env.update({"LUKHAS_LANE": "production", "LUKHAS_LID_KEYS": '{"k1": "changeme"}',
                "LUKHAS_DATA_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "ΛiD key 'k1' is shorter than 32 bytes" in done.stderr
    assert not (tmp_path / "pg").exists(), "nothing started"


def test_cli_token_issue_prints_a_token_the_service_accepts(tmp_path: Path) -> None:
    import asyncio

    from app.identity.keyring import load_keyring
    from app.identity.tiers import load_tiers
    from app.identity.tokens import LidTokens
    from app.kv.memory import MemoryStore

    env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    env.update({"LUKHAS_LID_KEYS": json.dumps({"k1": STRONG}),
                "LUKHAS_DATA_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "app.cli", "token", "issue", "--realm",
                           "LUKHAS", "--zone", "eu", "--tier", "T1", "--ttl", "120", "--once"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    ring = load_keyring(json.dumps({"k1": STRONG}), None, None, dev=False, data_dir=tmp_path)
    tokens = LidTokens(ring, load_tiers(), MemoryStore())
    who = asyncio.run(tokens.validate(token))
    assert who.tier == "T1" and who.subject.startswith("lid#LUKHAS/eu/v1.")
    assert who.expires_at is not None
    bad = subprocess.run([sys.executable, "-m", "app.cli", "token", "issue", "--realm", "R",
                          "--zone", "Z", "--tier", "T1", "--scopes", "admin"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "does not grant" in bad.stderr


def test_serve_refuses_several_workers_without_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    env["LUKHAS_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "LUKHAS_REDIS_URL" in done.stderr
