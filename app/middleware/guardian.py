"""The Guardian on the way in: the kill switch, then the request's texts against the policy,
before any route runs. After identity and rate limiting, so a refusal here is counted
against the caller who sent it.

The kill switch stops every `/v1` request (HTTP and WebSocket handshakes) with 503, except
an administrator's own control of it: the switch and the audit log under `/v1/admin/`, and
the issue of the single-use ΛiD tokens releasing it takes (`/v1/identity/tokens`). Probes
and metrics (outside `/v1`) always pass.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import refuse
from app.guardian.enforcement import Enforcement, guardian_unavailable, kill_switch_engaged
from app.guardian.kill_switch import SwitchUnknown

log = logging.getLogger("lukhas.guardian")

_ADMIN_CONTROL = ("/v1/admin/guardian/", "/v1/admin/audit", "/v1/identity/tokens")


def _admin_control(scope: Scope) -> bool:
    identity = scope.get("state", {}).get("identity")
    return (identity is not None and identity.has_scope("admin")
            and scope["path"].startswith(_ADMIN_CONTROL))


class GuardianMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state.lukhas
        enforcement: Enforcement = state.enforcement
        try:
            stopped = await enforcement.kill_switch.engaged()
        except SwitchUnknown:
            enforcement.metrics.failures.labels(enforcement.lane, "kill_switch").inc()
            # Strict lanes stop when they cannot tell; the others keep serving.
            stopped = enforcement.strict
            if stopped:
                enforcement.metrics.refused.labels(enforcement.lane, "failure").inc()
                await refuse(guardian_unavailable(), scope, receive, send)
                return
        if stopped and not _admin_control(scope):
            enforcement.metrics.refused.labels(enforcement.lane, "kill_switch").inc()
            await refuse(kill_switch_engaged(), scope, receive, send)
            return
        await self.app(scope, receive, send)
