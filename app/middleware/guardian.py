"""The Guardian on the way in: the kill switch, then the request's texts against the policy,
before any route runs. After identity and rate limiting, so a refusal here is counted
against the caller who sent it.

The kill switch stops every `/v1` request (HTTP and WebSocket handshakes) with 503, except
an administrator's own control of it: the switch and the audit log under `/v1/admin/`, and
the issue of the single-use ΛiD tokens releasing it takes (`/v1/identity/tokens`). Probes
and metrics (outside `/v1`) always pass.

The texts of `POST /v1/responses` and `/v1/chat/completions` (app/guardian/request_texts.py)
are scanned within the lane's time budget. Enforced: a block is a 400
`content_policy_violation` naming where the text was, never the rule; a redaction is written
into the body the route reads; a failure or timeout is a 503 `guardian_unavailable`
(`x-should-retry: false`). Advisory: the same decisions are logged and audited, and the
request goes on unchanged. The body is parsed once here and handed to the route's own check
(app/api/protocol.py), which would otherwise parse it again.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.protocol import PARSED_BODY, is_json
from app.errors import APIError, refuse
from app.guardian.enforcement import Enforcement
from app.guardian.request_check import check_request, failed
from app.guardian.request_texts import SCANNED_PATHS
from app.json import loads
from app.middleware.rate_limit import read_body

log = logging.getLogger("lukhas.guardian")


def _content_type(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return str(value.decode("latin-1"))
    return None


class GuardianMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state: Any = scope["app"].state.lukhas
        enforcement: Enforcement = state.enforcement
        if not enforcement.kill_switch.disengaged():  # else released, as read just now
            stopped = await enforcement.stopped(scope.get("state", {}).get("identity"),
                                                scope["path"])
            if stopped is not None:
                await refuse(stopped, scope, receive, send)
                return
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope["path"] not in SCANNED_PATHS or not is_json(_content_type(scope))):
            await self.app(scope, receive, send)
            return
        messages = await read_body(receive)
        refusal: APIError | None = None
        try:
            parsed = _parsed(messages)
            if parsed is not None:  # else the route answers its own `invalid_json`
                scope.setdefault("state", {})[PARSED_BODY] = parsed
                identity = scope["state"].get("identity")
                check = await check_request(
                    state.guardian, enforcement, scope["path"], parsed,
                    actor=identity.subject if identity is not None else "anonymous",
                    request_id=scope["state"].get("request_id", ""),
                    max_file_bytes=state.settings.max_file_bytes)
                if check.redacted:
                    messages[:] = [{"type": "http.request", "body": orjson.dumps(parsed),
                                    "more_body": False}]
                refusal = check.refusal
        except Exception:  # a failure of ours, outside the scan itself: fail closed too
            log.exception("guardian request check failed")
            refusal = failed(enforcement)
        if refusal is not None:
            await refuse(refusal, scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _parsed(messages: list[Message]) -> dict[str, Any] | None:
    """The body of `messages` as a JSON object; None when it is not one."""
    body = messages[0].get("body", b"") if len(messages) == 1 else b"".join(
        m.get("body", b"") for m in messages)
    try:
        parsed = loads(body)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


