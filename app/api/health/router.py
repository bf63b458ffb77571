"""Kubernetes probes: `/healthz` (the process can serve at all; no dependency calls, so a
database or Redis outage never gets the process restarted) and `/readyz` (can serve now)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.responses import Response

from app.api.health.protocol import Alive, Broken, NotReady, Ready
from app.db.migrate import load_migrations, pending
from app.deps import StateDep
from app.errors import error_body
from app.guardian.kill_switch import SwitchUnknown
from app.json import JSONResponse
from app.kv.base import StoreUnavailable
from app.state import AppState

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={200: {"model": Alive}, 503: {"model": Broken}})
async def healthz(state: StateDep) -> Response:
    """The process can serve: its pool is open and its tick has not died. Only a restart
    mends either, so this is what a liveness probe asks; nothing outside is touched."""
    broken = {}
    if state.pool.closed:
        broken["pool"] = "closed"
    if state.tick.crashed():
        broken["tick"] = "crashed"
    if not broken:
        return JSONResponse({"status": "ok"})
    body = error_body(f"Cannot serve: {', '.join(broken)}.", "server_error", None, "broken")
    return JSONResponse({"status": "broken", "checks": broken, **body}, status_code=503)


@router.get("/readyz", responses={200: {"model": Ready}, 503: {"model": NotReady}})
async def readyz(state: StateDep) -> Response:
    """Database reachable, migrations applied, tick alive, Redis (when configured) answering;
    else 503 naming what failed. Either way, the Guardian's lane, mode and kill switch."""
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
    guardian = await _guardian(state)
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks, "guardian": guardian})
    body = error_body(f"Not ready: {', '.join(failing)}.", "server_error", None, "not_ready")
    return JSONResponse({"status": "not_ready", "checks": checks, "guardian": guardian,
                         **body}, status_code=503)


async def _guardian(state: AppState) -> dict[str, str]:
    enforcement = state.enforcement
    try:
        switch = "engaged" if await enforcement.kill_switch.engaged() else "released"
    except SwitchUnknown:
        switch = "unknown"
    return {"lane": enforcement.lane, "mode": enforcement.policy.mode.value,
            "kill_switch": switch}
