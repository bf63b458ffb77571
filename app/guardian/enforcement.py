"""What the Guardian's decisions do in this lane: the lane policy in force, the kill switch,
the metrics, the audit of every decision that is not a plain allow, and the errors a
refused request gets."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from app.config_files import ReloadEvent
from app.db.pool import Database
from app.db.repositories import audit
from app.errors import APIError
from app.guardian.compiled import Policy
from app.guardian.decision import Direction, Kind, decision_record, strongest
from app.guardian.engine import Guardian
from app.guardian.kill_switch import KillSwitch, SwitchUnknown
from app.guardian.lanes import LanePolicy
from app.guardian.metrics import EnforcementMetrics
from app.identity.base import Identity

log = logging.getLogger("lukhas.guardian")

# What an administrator reaches while the kill switch is engaged: the switch and the audit
# log, and the issue of the single-use tokens releasing it takes.
ADMIN_CONTROL = ("/v1/admin/guardian/", "/v1/admin/audit", "/v1/identity/tokens")


class ContentPolicyViolation(APIError):
    """400: the request's content is refused by the policy (the rule is never named)."""

    status_code = 400
    error_type = "invalid_request_error"
    default_code = "content_policy_violation"


class GuardianUnavailable(APIError):
    """503: the Guardian failed (an exception, a timeout) and the lane fails closed. The same
    request would meet the same failure: `x-should-retry: false`."""

    status_code = 503
    default_code = "guardian_unavailable"


class KillSwitchEngaged(APIError):
    """503: the kill switch stops all traffic until administrators release it."""

    status_code = 503
    default_code = "kill_switch_engaged"


def policy_violation(param: str | None) -> ContentPolicyViolation:
    return ContentPolicyViolation(
        "Your request was rejected by the content policy of this service.", param=param)


def guardian_unavailable() -> GuardianUnavailable:
    return GuardianUnavailable(
        "The content policy could not be checked for this request, so it was refused.")


def kill_switch_engaged() -> KillSwitchEngaged:
    return KillSwitchEngaged(
        "This service is stopped by its administrators (kill switch engaged): no request is "
        "served until it is released.")


# Reviews by semantic rules in flight at once (each waits on the embedding model).
MAX_REVIEWS = 8
# The time over which the reviews of clean texts keep to the lane's review_cpu_share.
REVIEW_WINDOW_S = 1.0
# What a text's review is expected to take before any was measured (MiniLM on a short text,
# on an idle core); then the average of those measured (REVIEW_ESTIMATE_WEIGHT to the newest).
REVIEW_ESTIMATE_S = 0.025
REVIEW_ESTIMATE_WEIGHT = 0.2

class Enforcement:
    """The lane's enforcement, shared by the request middleware and the Risk stage."""

    def __init__(self, lane: str, policy: LanePolicy, pool: Database,
                 metrics: EnforcementMetrics) -> None:
        self.lane = lane
        self.policy = policy
        self.pool = pool
        self.metrics = metrics
        self.kill_switch = KillSwitch(pool, policy.kill_switch,
                                      metrics.kill_switch.labels(lane))
        self._reviews: set[asyncio.Task[None]] = set()
        # The reviews' time not yet paid back, in seconds: it drains at review_cpu_share
        # seconds per second, and while it exceeds one window's share no clean text is
        # reviewed (a leaky bucket).
        self._review_debt = 0.0
        self._review_paid = time.monotonic()
        # A review is charged what it is expected to take as it is admitted, so that reviews
        # started together cannot overrun the share before the first of them has ended; the
        # difference is settled as each text's review ends.
        self._review_estimate = REVIEW_ESTIMATE_S

    @property
    def enforced(self) -> bool:
        return self.policy.enforced

    @property
    def strict(self) -> bool:
        return self.policy.strict

    def scan_budget_s(self, chars: int) -> float:
        return self.policy.scan_budget_s(chars)

    async def stopped(self, identity: Identity | None, path: str) -> APIError | None:
        """The refusal of a request to `path` while the kill switch stops traffic (or, in a
        strict lane, while its state cannot be read); None when it may go on. An
        administrator's control of the switch always goes on."""
        try:
            engaged = await self.kill_switch.engaged()
        except SwitchUnknown:
            self.metrics.failures.labels(self.lane, "kill_switch").inc()
            if not self.strict:  # strict lanes stop when they cannot tell
                return None
            self.metrics.refused.labels(self.lane, "failure").inc()
            return guardian_unavailable()
        if not engaged or (identity is not None and identity.has_scope("admin")
                           and path.startswith(ADMIN_CONTROL)):
            return None
        self.metrics.refused.labels(self.lane, "kill_switch").inc()
        return kill_switch_engaged()

    def emergency_active(self) -> bool:
        """The kill switch as this worker last read it (no database call)."""
        try:
            return self.kill_switch.last_known()
        except RuntimeError:
            return True

    def review_later(self, guardian: Guardian, policy: Policy, direction: Direction,
                     texts: Sequence[tuple[str, Kind, str]], *, actor: str,
                     correlation_id: str, flagged: bool) -> None:
        """Scan `texts` (where, kind, text) with every rule, semantic ones too, after the
        request or answer went on: for rules that only log, whose embedding call would
        otherwise sit in its path. What they find joins the audit chain. Texts a fast rule
        `flagged` are always reviewed, clean ones on the lane's `review_sample` (an embedding
        costs more CPU than a whole request), and only while the reviews' recent time keeps
        within the lane's `review_cpu_share` of a core: a sample's cost grows with the
        traffic, this bound does not. At most MAX_REVIEWS run at once. Reviews not run for
        either bound are skipped, and counted, rather than queue behind the embedding
        model."""
        sample = self.policy.review_sample
        if not flagged and (sample <= 0.0 or (sample < 1.0 and random.random() >= sample)):
            return
        over_share = (not flagged and self._review_owed()
                      > self.policy.review_cpu_share * REVIEW_WINDOW_S)
        if over_share or len(self._reviews) >= MAX_REVIEWS:
            self.metrics.reviews_skipped.labels(self.lane, direction).inc()
            return
        charged = self._review_estimate
        self._review_owed()
        self._review_debt += charged * len(texts)
        task = asyncio.create_task(self._review(guardian, policy, direction, texts, actor,
                                                correlation_id, charged))
        self._reviews.add(task)
        task.add_done_callback(self._reviews.discard)

    async def close(self, wait_s: float = 2.0) -> None:
        """Let the reviews under way finish (for at most `wait_s`), then cancel the rest."""
        if not self._reviews:
            return
        _, pending = await asyncio.wait(set(self._reviews), timeout=wait_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _review_owed(self) -> float:
        """The reviews' time not yet paid back at the lane's share, as of now."""
        now = time.monotonic()
        paid = (now - self._review_paid) * self.policy.review_cpu_share
        self._review_debt = max(0.0, self._review_debt - paid)
        self._review_paid = now
        return self._review_debt

    def _review_failed(self, direction: Direction, exc: Exception) -> None:
        self.metrics.failures.labels(self.lane, f"{direction}_review").inc()
        log.warning("guardian review failed: %s", exc)

    async def _review(self, guardian: Guardian, policy: Policy, direction: Direction,
                      texts: Sequence[tuple[str, Kind, str]], actor: str,
                      correlation_id: str, charged: float) -> None:
        """Review `texts`, each charged `charged` seconds at admission."""
        try:
            await guardian.prepare(policy)  # once per policy: not the reviews' own time
        except Exception as exc:
            self._review_failed(direction, exc)
            return
        for where, kind, text in texts:
            started = time.perf_counter()
            try:
                decision = await guardian.scan(text, direction=direction, kind=kind,
                                               policy=policy)
            except Exception as exc:
                self._review_failed(direction, exc)
                return
            finally:
                spent = time.perf_counter() - started
                self._review_owed()
                self._review_debt += spent - charged
                self._review_estimate += REVIEW_ESTIMATE_WEIGHT * (spent - self._review_estimate)
            found = tuple(r for r in decision.reasons if r.detector == "semantic")
            if not found:
                continue
            decision = replace(decision, reasons=found,
                               action=strongest(r.action for r in found))
            self.metrics.decisions.labels(self.lane, f"{direction}_review",
                                          decision.action).inc()
            self.metrics.found(f"{direction}_review", decision)
            record = decision_record(decision, correlation_id=correlation_id, lane=self.lane,
                                     emergency_active=self.emergency_active(),
                                     enforcement_enabled=self.enforced)
            await self.record(actor, f"guardian.{direction}.{decision.action}",
                              {"param": where, "decision": record, "review": True})

    async def policy_reloaded(self, event: ReloadEvent, policy: Policy | None) -> None:
        """A policy reload joins the audit chain: applied (its label) or refused (why)."""
        if event.outcome == "applied" and policy is not None:
            await self.record("guardian", "guardian.policy_reloaded", {
                "policy": policy.label, "rules": len(policy.rules), "lane": self.lane,
                "pid": os.getpid()})
        elif event.outcome != "applied":
            await self.record("guardian", "guardian.policy_rejected", {
                "outcome": event.outcome, "digest": event.digest, "reason": event.message,
                "lane": self.lane, "pid": os.getpid()})

    async def record(self, actor: str, action: str, details: Mapping[str, Any]) -> None:
        """Append one decision to the audit chain; a failure is logged and counted (the
        decision itself stands)."""
        try:
            async with self.pool.acquire() as conn:
                await audit.append(conn, actor, action, None, details)
        except Exception:
            self.metrics.audit_failures.labels(self.lane).inc()
            log.exception("guardian decision not audited", extra={"action": action})
