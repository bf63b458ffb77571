"""`/v1/identity`: accounts (administrators), TOTP enrolment (the holder), and logins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from app.api.identity.protocol import (
    AccountCreateRequest,
    AccountObject,
    AccountTierRequest,
    AccountToken,
    AuthenticateRequest,
    TotpConfirmRequest,
    TotpEnrollment,
)
from app.api.protocol import CheckedRoute
from app.deps import AccountsDep, LoginDep, require
from app.identity.base import Identity

router = APIRouter(tags=["identity"], route_class=CheckedRoute)
Admin = Annotated[Identity, require("admin")]
Holder = Annotated[Identity, require("identity.read")]


@router.post("/identity/accounts")
async def create_account(body: AccountCreateRequest, admin: Admin,
                         accounts: AccountsDep) -> AccountObject:
    """Create an account for a person (409 `username_taken` if the name is in use)."""
    return await accounts.create(admin, body)


@router.get("/identity/accounts/{account_id}")
async def get_account(account_id: str, _: Admin, accounts: AccountsDep) -> AccountObject:
    """One account: its tier cap, TOTP state and lockout."""
    return await accounts.get(account_id)


@router.post("/identity/accounts/{account_id}/tier")
async def set_account_tier(account_id: str, body: AccountTierRequest, admin: Admin,
                           accounts: AccountsDep) -> AccountObject:
    """Grant (or withdraw) a tier: the most this account's logins may reach."""
    return await accounts.set_tier(admin, account_id, body)


@router.post("/identity/accounts/{account_id}/unlock")
async def unlock_account(account_id: str, admin: Admin, accounts: AccountsDep) -> AccountObject:
    """End a lockout before its time."""
    return await accounts.unlock(admin, account_id)


@router.delete("/identity/accounts/{account_id}/totp")
async def reset_account_totp(account_id: str, admin: Admin,
                             accounts: AccountsDep) -> AccountObject:
    """Remove an account's TOTP (a lost authenticator); its holder may enrol again."""
    return await accounts.reset_totp(admin, account_id)


@router.post("/identity/totp")
async def enroll_totp(holder: Holder, accounts: AccountsDep) -> TotpEnrollment:
    """Start TOTP enrolment: a new secret and its `otpauth://` URI."""
    return await accounts.enroll_totp(holder)


@router.post("/identity/totp/confirm")
async def confirm_totp(body: TotpConfirmRequest, holder: Holder,
                       accounts: AccountsDep) -> AccountObject:
    """Finish TOTP enrolment with a first valid code."""
    return await accounts.confirm_totp(holder, body)


@router.post("/identity/authenticate")
async def authenticate(body: AuthenticateRequest, request: Request,
                       login: LoginDep) -> AccountToken:
    """Exchange a username, password and (for T2/T3) a TOTP code for a ΛiD token."""
    client = (request.client.host, request.client.port) if request.client else None
    return await login.authenticate(body, client)
