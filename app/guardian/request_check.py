"""A request's texts against the policy's input rules, in the lane's mode: what the
Guardian middleware runs for `POST /v1/responses` and chat completions, and a WebSocket runs
for each `response.create`.

Enforced: a block is a `content_policy_violation` naming where the text was (never the rule),
a redaction is written into the parsed body, a failure or a scan over the lane's budget is
`guardian_unavailable`; a request longer than the lane's `max_scan_chars` is refused before
it is scanned (400 `context_length_exceeded`), in every lane. Advisory: the same decisions
are logged and audited, nothing changes. Semantic rules that only log run after the request
went on (Enforcement.review_later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from app.api.files import read_files
from app.errors import APIError, InvalidRequest
from app.guardian.compiled import CompiledRule, Policy
from app.guardian.decision import CATEGORIES, Action, Decision, Kind, decision_record, strongest
from app.guardian.detectors.patterns import scan_deadline
from app.guardian.enforcement import (
    Enforcement,
    guardian_unavailable,
    policy_violation,
)
from app.guardian.engine import Guardian
from app.guardian.request_texts import RequestText, request_texts

log = logging.getLogger("lukhas.guardian")


@dataclass(frozen=True, slots=True)
class Checked:
    refusal: APIError | None = None  # the error to answer with, when refused
    redacted: bool = False  # a text of the body was rewritten


_CLEAN = Checked()


async def check_request(guardian: Guardian, enforcement: Enforcement, path: str,
                        body: dict[str, Any], *, actor: str, request_id: str,
                        max_file_bytes: int) -> Checked:
    """Check `body` (the parsed request of `path`), redacting it in place when the policy
    says so; never raises (a failure is the lane's to decide)."""
    texts, files = request_texts(path, body)
    if not texts and not files:
        return _CLEAN
    policy = guardian.policy
    found: list[tuple[RequestText, Decision]] = []
    limit = enforcement.policy.max_scan_chars
    chars = 0
    for text in texts:  # a loop, not a comprehension: one function less to run (3.11)
        chars += len(text.text)
    if files:
        chars += sum(len(f.file_data or "") for f in files)
    if chars > limit:
        return Checked(_too_long(chars, limit))
    if files:  # their text first: reading a PDF is not scanning, and not in the scan's budget
        try:
            read = await read_files(files, max_file_bytes)
        except APIError:
            read = {}  # the route refuses the file with its own 400
        except Exception as exc:
            return Checked(await _scan_failed(enforcement, exc, actor, request_id))
        texts += [RequestText(where, "file", f.text) for where, f in read.items()]
    started = time.perf_counter()
    # Texts an earlier request carried and the policy found nothing in are not scanned again
    # (instructions, tools, a conversation's earlier messages).
    clean = guardian.clean
    fresh = []
    for text in texts:
        if not clean.holds(policy, text.kind, text.text):
            fresh.append(text)
    # One screen a kind of text (message, tool, file): the rules that may match its texts.
    # When it leaves none and no semantic rule decides, nothing more runs (most requests).
    if fresh:
        decided = policy.input_decided
        try:
            screens = _screens(policy, fresh)
            awaits = not decided.isdisjoint(screens)
            if awaits or any(screens.values()):
                found = await _scan(guardian, policy, fresh, screens, awaits,
                                    enforcement.scan_budget_s(chars))
        except Exception as exc:
            enforcement.metrics.scanned.observe(time.perf_counter() - started)
            return Checked(await _scan_failed(enforcement, exc, actor, request_id))
        # Kept: the texts nothing was found in, but those a semantic rule decides on
        # (scanned every time).
        flagged = {id(text) for text, _ in found} if found else ()
        for text in fresh:
            if text.kind not in decided and id(text) not in flagged:
                clean.add(policy, text.kind, text.text)
    enforcement.metrics.scanned.observe(time.perf_counter() - started)
    # A semantic rule that may change the request was awaited above; one that only logs
    # reviews the text after it went on.
    later: list[tuple[str, Kind, str]] = [
        (t.where, t.kind, t.text) for t in texts  # type: ignore[misc]
        if policy.reviewed_later("input", t.kind)  # type: ignore[arg-type]
    ] if policy.input_reviewed else []
    if later:
        enforcement.review_later(guardian, policy, "input", later, actor=actor,
                                 correlation_id=request_id, flagged=bool(found))
    if not found:
        enforcement.metrics.input_allowed.inc()
        return _CLEAN
    action = strongest(_action(d, enforcement) for _, d in found)
    enforcement.metrics.decisions.labels(enforcement.lane, "input", action).inc()
    for text, decision in found:
        enforcement.metrics.found("input", decision)
        record = decision_record(decision, correlation_id=request_id, lane=enforcement.lane,
                                 emergency_active=enforcement.emergency_active(),
                                 enforcement_enabled=enforcement.enforced)
        await enforcement.record(actor, f"guardian.input.{decision.action}",
                                 {"param": text.where, "decision": record})
    if not enforcement.enforced:
        log.warning("guardian input decision (advisory, not enforced)",
                    extra={"decision": action})
        return Checked()
    blocked = next((text for text, d in found if _action(d, enforcement) == "block"), None)
    if blocked is not None:
        enforcement.metrics.refused.labels(enforcement.lane, "policy").inc()
        return Checked(policy_violation(blocked.where))
    redacted = False
    for text, decision in found:
        if decision.action == "redact" and text.holder is not None:
            new, count = decision.redact(text.text)
            if count:
                text.replace(new)
                redacted = True
    return Checked(redacted=redacted)


async def _scan(guardian: Guardian, policy: Policy, texts: list[RequestText],
                screens: dict[str, list[CompiledRule]], awaits: bool,
                budget: float) -> list[tuple[RequestText, Decision]]:
    """Each text against the rules its screen left and the semantic rules that decide,
    within `budget` seconds (TimeoutError past it)."""
    found: list[tuple[RequestText, Decision]] = []
    deadline = time.monotonic() + budget
    token = scan_deadline.set(deadline)  # each pattern search stops by then, too
    # A semantic scan awaits the embedding model: the timeout can stop it there. The others
    # run without a pause, checked against the deadline once they end (and each pattern
    # search stops by it).
    try:
        async with asyncio.timeout(budget) if awaits else contextlib.nullcontext():
            for text in texts:
                kind: Kind = text.kind  # type: ignore[assignment]
                # A semantic rule that may change the request is awaited before the route
                # runs.
                decision: Decision | None = None
                if policy.semantic_decides("input", kind):
                    decision = await guardian.scan(text.text, direction="input", kind=kind,
                                                   policy=policy)
                elif screens[kind]:  # no decision is made for a text nothing is found in
                    decision = guardian.flagged_fast(text.text, direction="input", kind=kind,
                                                     policy=policy, candidates=screens[kind])
                if decision is not None and decision.action != "allow":
                    found.append((text, decision))
        if time.monotonic() > deadline:  # over budget without an await to stop at
            raise TimeoutError(f"the scan took over {budget:g} s")
    finally:
        scan_deadline.reset(token)
    return found


def _screens(policy: Policy, texts: list[RequestText]) -> dict[str, list[CompiledRule]]:
    """For each kind of text (message, tool, file), the rules that may match any of its
    texts: one pass of the policy's screen over them together instead of one a text."""
    if len(texts) == 1:  # most requests: one new text, screened as it is
        kind: Kind = texts[0].kind  # type: ignore[assignment]
        return {kind: policy.candidates("input", kind, texts[0].text)}
    by_kind: dict[str, list[str]] = {}
    for text in texts:
        by_kind.setdefault(text.kind, []).append(text.text)
    return {kind: policy.candidates_of("input", kind, group)  # type: ignore[arg-type]
            for kind, group in by_kind.items()}


def _too_long(chars: int, limit: int) -> InvalidRequest:
    return InvalidRequest(
        f"This request carries {chars} characters of text, more than the {limit} this "
        "service checks against its content policy; shorten the input.", param="input",
        code="context_length_exceeded")


def failed(enforcement: Enforcement) -> APIError | None:
    """Count a failure of the request check; the refusal, in an enforced lane."""
    enforcement.metrics.failures.labels(enforcement.lane, "input").inc()
    if not enforcement.enforced:
        return None
    enforcement.metrics.refused.labels(enforcement.lane, "failure").inc()
    return guardian_unavailable()


async def _scan_failed(enforcement: Enforcement, exc: Exception, actor: str,
                       request_id: str) -> APIError | None:
    error = type(exc).__name__
    log.error("guardian request scan failed: %s", exc if str(exc) else error)
    await enforcement.record(actor, "guardian.input.failure", {
        "correlation_id": request_id, "lane": enforcement.lane,
        "enforcement_enabled": enforcement.enforced, "error": error,
        "detector": getattr(exc, "detector", None), "rule": getattr(exc, "rule", None)})
    return failed(enforcement)


def _action(decision: Decision, enforcement: Enforcement) -> Action:
    """The decision's action in this lane: strict lanes block a category they do not know."""
    if enforcement.strict and any(r.category not in CATEGORIES for r in decision.reasons):
        return "block"
    return decision.action
