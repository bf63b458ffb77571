"""Kubernetes probes: `/healthz` (alive, no dependency calls) and `/readyz` (can serve)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.responses import Response

from app.api.health.protocol import Alive, NotReady, Ready
from app.db.migrate import load_migrations, pending
from app.deps import StateDep
from app.errors import error_body
from app.json import JSONResponse
from app.kv.base import StoreUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={200: {"model": Alive}})
async def healthz() -> Response:
    """The process is up; touches nothing else."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", responses={200: {"model": Ready}, 503: {"model": NotReady}})
async def readyz(state: StateDep) -> Response:
    """Database reachable, migrations applied, tick alive, Redis (when configured) answering;
    else 503 naming what failed."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2.0), state.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            todo = await pending(conn, load_migrations())
        checks["database"] = "ok"
        checks["migrations"] = "ok" if not todo else f"{len(todo)} pending"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["tick"] = "ok" if state.tick.alive() else "stalled"
    if state.settings.redis_url is not None:
        try:
            async with asyncio.timeout(2.0):
                await state.store.ping()
            checks["redis"] = "ok"
        except (StoreUnavailable, TimeoutError) as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    failing = [name for name, result in checks.items() if result != "ok"]
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks})
    body = error_body(f"Not ready: {', '.join(failing)}.", "server_error", None, "not_ready")
    return JSONResponse({"status": "not_ready", "checks": checks, **body}, status_code=503)
