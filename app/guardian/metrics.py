"""The Guardian's enforcement metrics (their contract: configs/observability/contracts/
component-guardian_enforcement.yaml). Labels are the lane, the mode, the direction, the
decision, the category and the failure's place: a small fixed set. A category is one of
`decision.CATEGORIES` (a rule's category is checked against it when its policy loads); a
rule's name, id or text is never a label."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from app.guardian.decision import Decision
from app.guardian.lanes import Mode
from app.observability.metrics import Tally

_SCAN_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                 0.5, 1.0)


class EnforcementMetrics:
    def __init__(self, registry: CollectorRegistry, lane: str, mode: Mode) -> None:
        self.lane = lane
        self.mode = Gauge(
            "lukhas_guardian_mode",
            "The Guardian's mode in this lane: 1 for the mode in force, 0 for the others.",
            ["lane", "mode"], registry=registry)
        for each in Mode:
            self.mode.labels(lane, each.value).set(1 if each is mode else 0)
        self.kill_switch = Gauge(
            "lukhas_guardian_kill_switch_engaged",
            "1 while the kill switch stops all non-probe traffic, as this worker last read it.",
            ["lane"], registry=registry)
        self.kill_switch.labels(lane).set(0)
        # Counted on every request: a tally (app/observability/metrics.py).
        self.decisions = Tally(
            "lukhas_guardian_decisions_total",
            "Guardian decisions by direction (input: a request; output: an answer; and the"
            " reviews by semantic rules after them) and action (allow, log, redact, block),"
            " whether enforced or only logged.",
            ["lane", "direction", "action"], registry)
        # The counts of a plain allow, made on nearly every request and answer.
        self.input_allowed = self.decisions.labels(lane, "input", "allow")
        self.output_allowed = self.decisions.labels(lane, "output", "allow")
        self.findings = Counter(
            "lukhas_guardian_findings_total",
            "What the Guardian's decisions other than a plain allow found: one per reason (a"
            " rule that matched), by direction (as in lukhas_guardian_decisions_total), the"
            " rule's category and the rule's action.",
            ["lane", "direction", "category", "action"], registry=registry)
        self.failures = Counter(
            "lukhas_guardian_failures_total",
            "Failures inside the Guardian (an exception or a timeout) by where: input,"
            " output, kill_switch, and the reviews by semantic rules after a request or an"
            " answer (input_review, output_review); in an enforced lane a failure of input or"
            " output denied its request.", ["lane", "operation"], registry=registry)
        self.refused = Counter(
            "lukhas_guardian_refused_total",
            "Requests the Guardian refused, by outcome (policy: 400; failure: 503;"
            " kill_switch: 503).", ["lane", "outcome"], registry=registry)
        self.scan_seconds = Tally(
            "lukhas_guardian_scan_seconds",
            "Time to scan one request's texts before its route runs.",
            ["lane"], registry, buckets=_SCAN_BUCKETS)
        self.scanned = self.scan_seconds(lane)
        self.reviews_skipped = Counter(
            "lukhas_guardian_reviews_skipped_total",
            "Reviews by semantic rules skipped because as many as allowed were under way, or"
            " the reviews of clean texts had used the lane's review_cpu_share of a core.",
            ["lane", "direction"], registry=registry)
        for direction in ("input", "output"):
            self.reviews_skipped.labels(lane, direction)
        self.audit_failures = Counter(
            "lukhas_guardian_audit_failures_total",
            "Guardian decisions that could not be written to the audit chain.",
            ["lane"], registry=registry)

    def found(self, direction: str, decision: Decision) -> None:
        """Count each reason of `decision` by category and action, unless it is an allow."""
        if decision.action == "allow":
            return
        for reason in decision.reasons:
            self.findings.labels(self.lane, direction, reason.category, reason.action).inc()
