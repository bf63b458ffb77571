"""`/v1/admin`: where a request would be routed (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from app.api.admin.protocol import RoutingPreview, RoutingPreviewRequest
from app.api.protocol import CheckedRoute
from app.deps import StateDep, require
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
