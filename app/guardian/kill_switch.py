"""The kill switch: while engaged, every request but the probes, the metrics and the
administrators' own control of the switch is refused with 503.

Its state is one row in PostgreSQL (migration 0009), so it survives restarts and every
worker of every replica reads the same; each worker caches it for at most `CACHE_SECONDS`,
so a change reaches all of them within a second. Engaging and releasing each need approvals
from `approvals` different administrators within `window_seconds` (the lane policy), each
presenting a single-use ΛiD token; every approval and every change joins the audit chain, in
the same transaction as the change itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from app.db.pool import Database
from app.db.repositories import audit
from app.errors import Conflict, PermissionDenied
from app.guardian.lanes import KillSwitchRule
from app.identity.base import Identity

CACHE_SECONDS = 0.5
# A read that fails keeps the last known state this long before the switch counts as unknown.
STALE_SECONDS = 5.0

Action = Literal["engage", "release"]


class SwitchUnknown(RuntimeError):
    """The switch's state could not be read for longer than STALE_SECONDS."""


@dataclass(frozen=True, slots=True)
class SwitchState:
    engaged: bool
    changed_at: datetime
    approved_by: tuple[str, ...]
    pending: dict[str, Any] | None  # the approvals waiting for more, when there are some


class KillSwitch:
    def __init__(self, pool: Database, rule: KillSwitchRule, gauge: Any = None) -> None:
        self._pool = pool
        self._rule = rule
        self._gauge = gauge
        self._engaged = False
        self._read_at = float("-inf")  # monotonic time of the last successful read
        self._tried_at = float("-inf")
        self._lock = asyncio.Lock()

    async def engaged(self) -> bool:
        """The state, read again when the cached one is older than CACHE_SECONDS. While a
        read is under way (its connection may be slow to come on a busy pool) the others
        answer with the cached state, up to STALE_SECONDS old, rather than queue behind it:
        waiting on it stalled every request of the worker (measured: 3% of requests 1-2.5 s
        while index searches kept the pool busy)."""
        if time.monotonic() - self._tried_at < CACHE_SECONDS or self._lock.locked():
            return self._current()
        async with self._lock:
            now = time.monotonic()
            if now - self._tried_at < CACHE_SECONDS:  # another request just read it
                return self._current()
            self._tried_at = now
            try:
                async with self._pool.acquire() as conn:
                    engaged = await conn.fetchval("SELECT engaged FROM guardian_switch")
            except Exception:
                return self._current()
            self._set(bool(engaged), now)
            return self._engaged

    def disengaged(self) -> bool:
        """True when the state read within CACHE_SECONDS is released: a request may go on
        without awaiting `engaged` (most requests). False when it must ask `engaged`."""
        return not self._engaged and time.monotonic() - self._read_at < CACHE_SECONDS

    def last_known(self) -> bool:
        """The cached state, without reading it again; SwitchUnknown when it is stale."""
        return self._current()

    def _current(self) -> bool:
        if time.monotonic() - self._read_at > STALE_SECONDS:
            raise SwitchUnknown("the kill switch's state has not been readable for "
                                f"{STALE_SECONDS:g} s")
        return self._engaged

    def _set(self, engaged: bool, at: float) -> None:
        self._engaged, self._read_at = engaged, at
        if self._gauge is not None:
            self._gauge.set(1 if engaged else 0)

    async def state(self) -> SwitchState:
        """The state and the approvals still waiting, straight from the database."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT engaged, changed_at, approved_by"
                                      " FROM guardian_switch")
            waiting = await conn.fetch(
                "SELECT action, subject, expires_at FROM guardian_switch_approvals"
                " WHERE expires_at > now() ORDER BY approved_at")
        return _state(row, waiting, self._rule)

    async def approve(self, who: Identity, action: Action, request_id: str) -> SwitchState:
        """One administrator's approval to `action`; the change when it is the last one
        needed. 403 unless `who` presents a single-use ΛiD token; 409 when the switch is
        already where `action` would put it, or `who` already approved."""
        if who.kind != "lid" or not who.single_use:
            raise PermissionDenied(
                "Engaging or releasing the kill switch needs a single-use ΛiD token "
                "(issued with once: true) of an administrator.",
                code="single_use_token_required")
        want = action == "engage"
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow("SELECT engaged, changed_at, approved_by"
                                      " FROM guardian_switch FOR UPDATE")
            if row["engaged"] == want:
                raise Conflict(f"The kill switch is already {'engaged' if want else 'released'}.",
                               code=f"kill_switch_already_{'engaged' if want else 'released'}")
            await conn.execute("DELETE FROM guardian_switch_approvals"
                               " WHERE expires_at <= now() OR action <> $1", action)
            earlier = [r["subject"] for r in await conn.fetch(
                "SELECT subject FROM guardian_switch_approvals WHERE action = $1"
                " ORDER BY approved_at", action)]
            if who.subject in earlier:
                raise Conflict(f"You already approved to {action} the kill switch; another "
                               "administrator must approve it too.",
                               code="kill_switch_already_approved")
            approvers = [*earlier, who.subject]
            details = {"action": action, "approvals": len(approvers),
                       "required": self._rule.approvals, "token_id": who.token_id,
                       "request_id": request_id}
            await audit.append(conn, who.subject, "guardian.kill_switch.approved", None,
                               details)
            if len(approvers) < self._rule.approvals:
                await conn.execute(
                    "INSERT INTO guardian_switch_approvals (action, subject, token_id,"
                    " expires_at) VALUES ($1, $2, $3, now() + $4::interval)",
                    action, who.subject, who.token_id or "",
                    timedelta(seconds=self._rule.window_seconds))
            else:
                await conn.execute("DELETE FROM guardian_switch_approvals")
                await conn.execute("UPDATE guardian_switch SET engaged = $1,"
                                   " changed_at = now(), approved_by = $2", want, approvers)
                await audit.append(conn, who.subject, f"guardian.kill_switch.{action}d", None,
                                   {"approved_by": approvers, "request_id": request_id})
            row = await conn.fetchrow("SELECT engaged, changed_at, approved_by"
                                      " FROM guardian_switch")
            waiting = await conn.fetch(
                "SELECT action, subject, expires_at FROM guardian_switch_approvals"
                " WHERE expires_at > now() ORDER BY approved_at")
        self._set(bool(row["engaged"]), time.monotonic())  # this worker knows at once
        self._tried_at = time.monotonic()
        return _state(row, waiting, self._rule)


def _state(row: Any, waiting: list[Any], rule: KillSwitchRule) -> SwitchState:
    pending = None
    if waiting:
        pending = {"action": waiting[0]["action"], "approvals": len(waiting),
                   "required": rule.approvals,
                   "expires_at": int(min(w["expires_at"] for w in waiting).timestamp())}
    return SwitchState(bool(row["engaged"]), row["changed_at"], tuple(row["approved_by"]),
                       pending)
