"""`/v1/identity`: the caller, and (with the admin scope) token issue and revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from app.api.identity.protocol import RevokeRequest, TokenIssueRequest
from app.api.identity.service import describe
from app.api.protocol import CheckedRoute
from app.deps import IdentityServiceDep, require
from app.identity.base import Identity

router = APIRouter(tags=["identity"], route_class=CheckedRoute)


@router.get("/identity/me")
async def me(identity: Annotated[Identity, require("identity.read")]) -> dict[str, Any]:
    """Who the credential in this request says you are."""
    return describe(identity)


@router.post("/identity/tokens")
async def issue_token(
    body: TokenIssueRequest, _: Annotated[Identity, require("admin")],
    service: IdentityServiceDep,
) -> dict[str, Any]:
    """Issue a ΛiD token for a new alias."""
    return service.issue(body)


@router.post("/identity/revoke")
async def revoke_token(
    body: RevokeRequest, _: Annotated[Identity, require("admin")],
    service: IdentityServiceDep,
) -> dict[str, Any]:
    """Revoke a token until it would have expired."""
    return await service.revoke(body)


@router.delete("/identity/me/memory")
async def erase_my_memory(
    identity: Annotated[Identity, require("identity.read")], service: IdentityServiceDep,
) -> dict[str, Any]:
    """Erase everything you own: memory, indexes, stored responses, sessions."""
    return await service.erase(identity, identity.subject)


@router.delete("/identity/memory")
async def erase_subject_memory(
    subject: str, admin: Annotated[Identity, require("admin")], service: IdentityServiceDep,
) -> dict[str, Any]:
    """Erase everything one subject owns (administrators)."""
    return await service.erase(admin, subject)
