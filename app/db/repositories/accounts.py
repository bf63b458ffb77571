"""Accounts (migration 0006). Every state change is one conditional UPDATE, so concurrent
logins on one account cannot both pass a check that only one of them should."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.identity.accounts import Account

_COLUMNS = ("id, username, alias, password_hash, max_tier, totp_secret, totp_pending,"
            " totp_last_step, failed_attempts, locked_until, created_at")


def _account(row: Any) -> Account | None:
    if row is None:
        return None
    return Account(**dict(row))


async def insert(conn: Any, account_id: str, username: str, alias: str,
                 password_hash: str) -> Account | None:
    """A new account, or None if the username (in any case) is taken."""
    row = await conn.fetchrow(
        "INSERT INTO accounts (id, username, alias, password_hash) VALUES ($1, $2, $3, $4)"
        f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
        account_id, username, alias, password_hash)
    return _account(row)


async def by_username(conn: Any, username: str) -> Account | None:
    """The account with this username, in any case."""
    return _account(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accounts WHERE lower(username) = lower($1)", username))


async def by_id(conn: Any, account_id: str) -> Account | None:
    """The account with this id."""
    return _account(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accounts WHERE id = $1", account_id))


async def by_alias(conn: Any, alias: str) -> Account | None:
    """The account a ΛiD alias belongs to."""
    return _account(await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accounts WHERE alias = $1", alias))


async def set_max_tier(conn: Any, account_id: str, tier: str) -> Account | None:
    """Set the most a login may reach."""
    return _account(await conn.fetchrow(
        f"UPDATE accounts SET max_tier = $2, updated_at = now() WHERE id = $1"
        f" RETURNING {_COLUMNS}", account_id, tier))


async def record_failure(conn: Any, account_id: str, threshold: int,
                         lock_seconds: float) -> tuple[int, datetime | None]:
    """One more consecutive failure; the lock starts when it reaches `threshold`.
    Returns the failure count and the lock's end."""
    row = await conn.fetchrow(
        "UPDATE accounts SET failed_attempts = failed_attempts + 1, updated_at = now(),"
        " locked_until = CASE WHEN failed_attempts + 1 >= $2"
        "   THEN now() + make_interval(secs => $3) ELSE locked_until END"
        " WHERE id = $1 RETURNING failed_attempts, locked_until",
        account_id, threshold, float(lock_seconds))
    return int(row["failed_attempts"]), row["locked_until"]


async def unlock_expired(conn: Any, account_id: str) -> bool:
    """End a lockout whose time is up (counting starts again); True if one ended."""
    return await conn.fetchval(
        "UPDATE accounts SET locked_until = NULL, failed_attempts = 0, updated_at = now()"
        " WHERE id = $1 AND locked_until <= now() RETURNING true", account_id) is not None


async def unlock(conn: Any, account_id: str) -> tuple[Account | None, bool]:
    """End any lockout and clear the failures; (the account, whether it was locked)."""
    cols = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))
    row = await conn.fetchrow(
        "UPDATE accounts a SET locked_until = NULL, failed_attempts = 0, updated_at = now()"
        " FROM (SELECT locked_until FROM accounts WHERE id = $1) old WHERE a.id = $1"
        f" RETURNING {cols}, coalesce(old.locked_until > now(), false) AS was_locked",
        account_id)
    if row is None:
        return None, False
    fields = dict(row)
    was_locked = bool(fields.pop("was_locked"))
    return _account(fields), was_locked


async def claim_totp_step(conn: Any, account_id: str, step: int) -> bool:
    """Record `step` as used, if it is later than every step used before (RFC 6238 §5.2)."""
    return await conn.fetchval(
        "UPDATE accounts SET totp_last_step = $2 WHERE id = $1"
        " AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING true",
        account_id, step) is not None


async def record_success(conn: Any, account_id: str, new_hash: str | None) -> bool:
    """Clear the failures (and store a rehashed password); False if a lockout began
    meanwhile."""
    return await conn.fetchval(
        "UPDATE accounts SET failed_attempts = 0, updated_at = now(),"
        " password_hash = coalesce($2, password_hash)"
        " WHERE id = $1 AND (locked_until IS NULL OR locked_until <= now()) RETURNING true",
        account_id, new_hash) is not None


async def set_totp_pending(conn: Any, account_id: str, sealed: bytes) -> bool:
    """Keep a new, unconfirmed secret; False if TOTP is already on."""
    return await conn.fetchval(
        "UPDATE accounts SET totp_pending = $2, updated_at = now()"
        " WHERE id = $1 AND totp_secret IS NULL RETURNING true",
        account_id, sealed) is not None


async def confirm_totp(conn: Any, account_id: str, sealed: bytes, step: int) -> bool:
    """Turn the pending secret (if still `sealed`) on, its first code's step used."""
    return await conn.fetchval(
        "UPDATE accounts SET totp_secret = totp_pending, totp_pending = NULL,"
        " totp_last_step = $3, updated_at = now()"
        " WHERE id = $1 AND totp_pending = $2 AND totp_secret IS NULL RETURNING true",
        account_id, sealed, step) is not None


async def reset_totp(conn: Any, account_id: str) -> tuple[Account | None, bool]:
    """Remove TOTP (and any pending enrolment); (the account, whether TOTP was on)."""
    cols = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))
    row = await conn.fetchrow(
        "UPDATE accounts a SET totp_secret = NULL, totp_pending = NULL, updated_at = now()"
        " FROM (SELECT totp_secret FROM accounts WHERE id = $1) old WHERE a.id = $1"
        f" RETURNING {cols}, old.totp_secret IS NOT NULL AS was_on", account_id)
    if row is None:
        return None, False
    fields = dict(row)
    was_on = bool(fields.pop("was_on"))
    return _account(fields), was_on
