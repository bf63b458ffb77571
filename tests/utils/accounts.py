"""Accounts for tests: cheap Argon2id parameters, unique usernames, and TOTP codes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pyotp

# Far below production cost (tests hash dozens of times); the parameters are still honoured.
FAST_HASHING: dict[str, Any] = {"password_time_cost": 1, "password_memory_kib": 1024,
                                "password_parallelism": 1}
PASSWORD = "correct horse battery staple"


def username(stem: str = "user") -> str:
    """A username no other test uses."""
    return f"{stem}-{uuid.uuid4().hex[:10]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_account(admin: httpx.AsyncClient, name: str | None = None,
                         password: str = PASSWORD) -> dict[str, Any]:
    resp = await admin.post("/v1/identity/accounts",
                            json={"username": name or username(), "password": password})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD,
                **extra: Any) -> httpx.Response:
    return await client.post("/v1/identity/authenticate",
                             json={"username": name, "password": password, **extra})


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The code for the current 30 s step plus `offset_steps`, away from a step boundary."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def away_from_step_edge(margin: float = 3.0) -> None:
    """Wait out the end of a step, so the server sees the same step as the test."""
    into = time.time() % 30
    if into > 30 - margin:
        time.sleep(30 - into + 0.05)


async def enrol_totp(client: httpx.AsyncClient, t1_token: str) -> str:
    """Enrol and confirm TOTP (with the previous step's code); the secret."""
    away_from_step_edge()
    started = await client.post("/v1/identity/totp", headers=bearer(t1_token))
    assert started.status_code == 200, started.text
    secret = str(started.json()["secret"])
    confirmed = await client.post("/v1/identity/totp/confirm", headers=bearer(t1_token),
                                  json={"code": code_at(secret, -1)})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["totp_enabled"] is True
    return secret
