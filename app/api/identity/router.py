"""`/v1/identity`: the caller, and (with the admin scope) token issue and revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from app.api.identity.protocol import (
    Erasure,
    IdentityObject,
    IssuedToken,
    Revocation,
    RevokeRequest,
    TierCheck,
    TokenIssueRequest,
    TokenVerification,
    VerifyRequest,
)
from app.api.identity.service import describe
from app.api.protocol import CheckedRoute
from app.deps import IdentityServiceDep, require
from app.identity.base import Identity

router = APIRouter(tags=["identity"], route_class=CheckedRoute)


@router.get("/identity/me", response_model=None, responses={200: {"model": IdentityObject}})
async def me(identity: Annotated[Identity, require("identity.read")]) -> dict[str, Any]:
    """Who the credential in this request says you are."""
    return describe(identity)


@router.post("/identity/tokens", response_model=None,
             responses={200: {"model": IssuedToken}})
async def issue_token(
    body: TokenIssueRequest, _: Annotated[Identity, require("admin")],
    service: IdentityServiceDep,
) -> dict[str, Any]:
    """Issue a ΛiD token for a new alias."""
    return service.issue(body)


@router.post("/identity/revoke", response_model=None,
             responses={200: {"model": Revocation}})
async def revoke_token(
    body: RevokeRequest, _: Annotated[Identity, require("admin")],
    service: IdentityServiceDep,
) -> dict[str, Any]:
    """Revoke a token until it would have expired."""
    return await service.revoke(body)


@router.post("/identity/verify")
async def verify_token(
    body: VerifyRequest, _: Annotated[Identity, require("identity.read")],
    service: IdentityServiceDep,
) -> TokenVerification:
    """Check a token: valid or the failing check's code, and what it carries."""
    return await service.verify(body)


@router.get("/identity/tier-check")
async def tier_check(
    scope: str, identity: Annotated[Identity, require("identity.read")],
    service: IdentityServiceDep,
) -> TierCheck:
    """Whether your credential (and its tier) allows `scope`."""
    return service.tier_check(identity, scope)


@router.delete("/identity/me/memory", response_model=None,
               responses={200: {"model": Erasure}})
async def erase_my_memory(
    identity: Annotated[Identity, require("identity.read")], service: IdentityServiceDep,
) -> dict[str, Any]:
    """Erase everything you own: memory, indexes, stored responses, sessions."""
    return await service.erase(identity, identity.subject)


@router.delete("/identity/memory", response_model=None,
               responses={200: {"model": Erasure}})
async def erase_subject_memory(
    subject: str, admin: Annotated[Identity, require("admin")], service: IdentityServiceDep,
) -> dict[str, Any]:
    """Erase everything one subject owns (administrators)."""
    return await service.erase(admin, subject)
