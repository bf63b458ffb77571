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

import asyncio
import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.files import read_files
from app.api.protocol import PARSED_BODY, is_json
from app.errors import APIError, refuse
from app.guardian.compiled import Policy
from app.guardian.decision import (
    CATEGORIES,
    Action,
    Decision,
    Kind,
    decision_record,
    strongest,
)
from app.guardian.detectors.patterns import scan_deadline
from app.guardian.enforcement import (
    Enforcement,
    guardian_unavailable,
    kill_switch_engaged,
    policy_violation,
)
from app.guardian.engine import Guardian
from app.guardian.kill_switch import SwitchUnknown
from app.guardian.request_texts import SCANNED_PATHS, RequestText, request_texts
from app.json import loads

log = logging.getLogger("lukhas.guardian")

_ADMIN_CONTROL = ("/v1/admin/guardian/", "/v1/admin/audit", "/v1/identity/tokens")


def _admin_control(scope: Scope) -> bool:
    identity = scope.get("state", {}).get("identity")
    return (identity is not None and identity.has_scope("admin")
            and scope["path"].startswith(_ADMIN_CONTROL))


async def _read_body(receive: Receive) -> list[Message]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


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
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope["path"] not in SCANNED_PATHS or not is_json(_content_type(scope))):
            await self.app(scope, receive, send)
            return
        messages = await _read_body(receive)
        try:
            refusal = await self._check(scope, messages, state.guardian, enforcement)
        except Exception:  # a failure of ours, outside the scan itself: fail closed too
            log.exception("guardian request check failed")
            refusal = self._failed(enforcement)
        if refusal is not None:
            await refuse(refusal, scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _check(self, scope: Scope, messages: list[Message], guardian: Guardian,
                     enforcement: Enforcement) -> APIError | None:
        body = b"".join(m.get("body", b"") for m in messages)
        try:
            parsed = loads(body)
        except (ValueError, RecursionError):
            return None  # the route answers its own `invalid_json`
        if not isinstance(parsed, dict):
            return None
        texts, files = request_texts(scope["path"], parsed)
        scope.setdefault("state", {})[PARSED_BODY] = parsed
        if not texts and not files:
            return None
        started = time.perf_counter()
        policy = guardian.policy
        found: list[tuple[RequestText, Decision]] = []
        later: list[tuple[str, Kind, str]] = []  # texts for the semantic rules that only log
        deadline = time.monotonic() + enforcement.scan_timeout_s
        token = scan_deadline.set(deadline)  # each pattern search stops by then, too
        try:
            async with asyncio.timeout(enforcement.scan_timeout_s):
                if files:
                    try:
                        read = await read_files(files, scope["app"].state.lukhas
                                                .settings.max_file_bytes)
                    except APIError:
                        read = {}  # the route refuses the file with its own 400
                    texts += [RequestText(where, "file", f.text) for where, f in read.items()]
                for text in texts:
                    kind: Kind = text.kind  # type: ignore[assignment]
                    if _semantic_decides(policy, kind):
                        decision = await guardian.scan(text.text, direction="input",
                                                       kind=kind, policy=policy)
                    else:
                        decision = guardian.scan_fast(text.text, direction="input",
                                                      kind=kind, policy=policy)
                        if policy.rules_for("input", kind, semantic=True):
                            later.append((text.where, kind, text.text))
                    if decision.action != "allow":
                        found.append((text, decision))
            if time.monotonic() > deadline:  # over budget without an await to stop at
                raise TimeoutError(f"the scan took over {enforcement.scan_timeout_s:g} s")
        except Exception as exc:
            enforcement.metrics.scan_seconds.labels(enforcement.lane).observe(
                time.perf_counter() - started)
            return await self._scan_failed(scope, enforcement, exc)
        finally:
            scan_deadline.reset(token)
        if later:
            enforcement.review_later(guardian, policy, "input", later, actor=_actor(scope),
                                     correlation_id=scope.get("state", {}).get("request_id",
                                                                               ""))
        enforcement.metrics.scan_seconds.labels(enforcement.lane).observe(
            time.perf_counter() - started)
        action = strongest(self._action(d, enforcement) for _, d in found)
        enforcement.metrics.decisions.labels(enforcement.lane, "input", action).inc()
        if not found:
            return None
        for text, decision in found:
            await self._audit(scope, enforcement, decision, text.where)
        if not enforcement.enforced:
            log.warning("guardian input decision (advisory, not enforced)",
                        extra={"decision": action})
            return None
        blocked = next((text for text, d in found if self._action(d, enforcement) == "block"),
                       None)
        if blocked is not None:
            enforcement.metrics.refused.labels(enforcement.lane, "policy").inc()
            return policy_violation(blocked.where)
        redacted = False
        for text, decision in found:
            if decision.action == "redact" and text.holder is not None:
                new, count = decision.redact(text.text)
                if count:
                    text.replace(new)
                    redacted = True
        if redacted:
            new_body = orjson.dumps(parsed)
            messages[:] = [{"type": "http.request", "body": new_body, "more_body": False}]
        return None

    @staticmethod
    def _action(decision: Decision, enforcement: Enforcement) -> Action:
        """The decision's action in this lane: strict lanes block a category they do not
        know."""
        if enforcement.strict and any(r.category not in CATEGORIES for r in decision.reasons):
            return "block"
        return decision.action

    async def _scan_failed(self, scope: Scope, enforcement: Enforcement,
                           exc: Exception) -> APIError | None:
        where = type(exc).__name__
        log.error("guardian request scan failed: %s", exc if str(exc) else where)
        await enforcement.record(_actor(scope), "guardian.input.failure", {
            "correlation_id": scope.get("state", {}).get("request_id", ""),
            "lane": enforcement.lane, "enforcement_enabled": enforcement.enforced,
            "error": where, "detector": getattr(exc, "detector", None),
            "rule": getattr(exc, "rule", None)})
        return self._failed(enforcement)

    @staticmethod
    def _failed(enforcement: Enforcement) -> APIError | None:
        enforcement.metrics.failures.labels(enforcement.lane, "input").inc()
        if not enforcement.enforced:
            return None
        enforcement.metrics.refused.labels(enforcement.lane, "failure").inc()
        return guardian_unavailable()

    @staticmethod
    async def _audit(scope: Scope, enforcement: Enforcement, decision: Decision,
                     where: str) -> None:
        record = decision_record(
            decision, correlation_id=scope.get("state", {}).get("request_id", ""),
            lane=enforcement.lane, emergency_active=enforcement.emergency_active(),
            enforcement_enabled=enforcement.enforced)
        await enforcement.record(_actor(scope), f"guardian.input.{decision.action}",
                                 {"param": where, "decision": record})


def _semantic_decides(policy: Policy, kind: Kind) -> bool:
    """Whether a semantic rule on this kind of input may change the request (redact or
    block): then its embedding call is awaited before the route runs; else it runs after."""
    return any(r.action in ("redact", "block")
               for r in policy.rules_for("input", kind, semantic=True))


def _actor(scope: Scope) -> str:
    identity = scope.get("state", {}).get("identity")
    return identity.subject if identity is not None else "anonymous"
