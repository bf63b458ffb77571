"""`/v1/admin`: where a request would be routed, the kill switch, the audit log (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from app.api.admin.protocol import (
    AuditList,
    AuditQuery,
    KillSwitch,
    KillSwitchRequest,
    RoutingPreview,
    RoutingPreviewRequest,
)
from app.api.listing import list_page
from app.api.protocol import CheckedRoute
from app.db.repositories import audit
from app.deps import StateDep, require
from app.guardian.kill_switch import SwitchState
from app.identity.base import Identity

router = APIRouter(tags=["admin"], route_class=CheckedRoute)
Admin = Annotated[Identity, require("admin")]


@router.post("/admin/routing/preview", response_model=None,
             responses={200: {"model": RoutingPreview}})
async def preview_route(
    body: RoutingPreviewRequest, who: Admin, state: StateDep
) -> dict[str, Any]:
    """The route a request would take: group, A/B bucket, plan, deadline, cooling ones."""
    return state.routing_preview.preview(body, who, state.cooldowns).model_dump()


def _switch(state: SwitchState) -> dict[str, Any]:
    return {"object": "guardian.kill_switch", "engaged": state.engaged,
            "changed_at": int(state.changed_at.timestamp()),
            "approved_by": list(state.approved_by), "pending": state.pending}


@router.get("/admin/guardian/kill-switch", response_model=None,
            responses={200: {"model": KillSwitch}})
async def kill_switch_state(_: Admin, state: StateDep) -> dict[str, Any]:
    """Whether the kill switch is engaged, and the approvals waiting for more."""
    return _switch(await state.enforcement.kill_switch.state())


@router.post("/admin/guardian/kill-switch", response_model=None,
             responses={200: {"model": KillSwitch}})
async def kill_switch_approve(body: KillSwitchRequest, who: Admin, state: StateDep,
                              request: Request) -> dict[str, Any]:
    """One administrator's approval to engage or release the kill switch (a single-use ΛiD
    token); the change happens with the last approval the lane policy asks for."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    return _switch(await state.enforcement.kill_switch.approve(who, body.action, request_id))


@router.get("/admin/audit", response_model=None, responses={200: {"model": AuditList}})
async def audit_entries(query: Annotated[AuditQuery, Query()], _: Admin,
                        state: StateDep) -> dict[str, Any]:
    """The audit chain's records, newest first by default, with cursor pagination."""
    async with state.pool.acquire() as conn:
        rows = await audit.page(conn, after=query.after, before=query.before,
                                limit=query.limit + 1, newest_first=query.order == "desc",
                                action=query.action)
    data = [{"object": "audit.entry", "id": r["id"], "created_at": r["at"].timestamp(),
             "actor": r["actor"], "action": r["action"], "subject": r["subject"],
             "details": r["details"], "prev_hash": r["prev_hash"], "hash": r["hash"]}
            for r in rows[:query.limit]]
    return list_page(data, len(rows) > query.limit)
