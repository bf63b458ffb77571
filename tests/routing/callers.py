"""Callers of a service with a routing file: the app, tier tokens, limits out of the way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import KEY_A
from tests.utils.app import running_app

# The tests send thousands of requests a minute; the limiter is not what they look at.
GENEROUS_LIMITS = """
window_seconds: 60
default: {requests: 1000000, tokens: 1000000000}
"""


def limits_file(directory: Path) -> Path:
    """A rate-limits file no test reaches."""
    path = directory / "limits.yaml"
    path.write_text(GENEROUS_LIMITS)
    return path


@asynccontextmanager
async def routed_app(pg_url: str, tmp_path: Path, routing_file: Path | None,
                     **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process with `routing_file`, called with the T3 (admin) API key."""
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A, api_key_tier="T3",
                           routing_file=routing_file, routing_reload_seconds=0.05,
                           rate_limits_file=limits_file(tmp_path), **settings) as client:
        yield client


async def tier_headers(admin: httpx.AsyncClient, tier: str) -> dict[str, str]:
    """Authorization headers of a fresh ΛiD token of `tier`, issued by the admin."""
    resp = await admin.post("/v1/identity/tokens",
                            json={"realm": "R", "zone": "Z", "tier": tier})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}
