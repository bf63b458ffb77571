"""The app in-process with its lifespan running, and an httpx client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from app.main import create_app
from app.settings import Settings


@asynccontextmanager
async def running_app(pg_url: str, data_dir: Path, *, key: str,
                      **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated with `key`; `client.app` is the app, for looking inside."""
    app = create_app(Settings(database_url=pg_url, data_dir=data_dir, **settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lukhas.test",
                                     headers={"Authorization": f"Bearer {key}"}) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
