"""The Guardian: one policy in force, every rule of it applied to a text.

`scan` is the one entry point, for request texts (direction "input": message text, tool
definitions, attached file text, retrieved documents) and for outputs (direction "output").
`scan_fast` is the same scan without the rules that need an embedding call (semantic), for
paths that must answer without awaiting (a stream's holdback window on every delta).

A detector that fails (a pattern over its time budget, the embedding model down) raises
DetectorError: the caller decides what a failure means in its lane (fail closed where the
policy is enforced). Nothing here knows lanes, audit or HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from app.guardian.clean_texts import CleanTexts
from app.guardian.compiled import CompiledRule, Policy
from app.guardian.decision import Decision, Direction, Kind, Reason, strongest
from app.guardian.detectors import Hit
from app.guardian.detectors.semantic import SemanticIndex


class DetectorError(RuntimeError):
    """A detector could not give an answer; `detector` and `rule` say which."""

    def __init__(self, rule: str, detector: str, cause: str) -> None:
        self.rule = rule
        self.detector = detector
        super().__init__(f"detector {detector} of rule {rule} failed: {cause}")


class PolicySource(Protocol):
    """What holds the policy in force: the reloader (app.guardian.reload.PolicyReloader)."""

    @property
    def policy(self) -> Policy: ...


class Guardian:
    """Scans texts against the policy in force."""

    def __init__(self, source: PolicySource | Policy, semantic: SemanticIndex | None) -> None:
        self._source = source
        self._semantic = semantic
        # Request texts and whole answers found clean, not scanned again
        # (app/guardian/clean_texts.py).
        self.clean = CleanTexts()

    @property
    def policy(self) -> Policy:
        """The policy in force (take it once per request, as it may be swapped by a reload)."""
        source = self._source
        return source if isinstance(source, Policy) else source.policy

    async def prepare(self, policy: Policy) -> None:
        """Embed the semantic rules' examples of `policy` now, if they are not yet (a
        one-time cost, apart from any scan's)."""
        if self._semantic is not None and any(r.detector == "semantic" for r in policy.rules):
            await self._semantic.prepare(policy)

    async def scan(self, text: str, *, direction: Direction, kind: Kind = "text",
                   policy: Policy | None = None) -> Decision:
        """Every rule of the policy that applies to (direction, kind), semantic ones too."""
        policy = policy or self.policy
        started = time.perf_counter()
        reasons, scores = _run(policy.candidates(direction, kind, text), text)
        semantic_rules = policy.rules_for(direction, kind, semantic=True)
        if semantic_rules and text.strip():
            if self._semantic is None:
                raise DetectorError(semantic_rules[0].name, "semantic",
                                    "no embedding model is served")
            try:
                found = await self._semantic.score(policy, semantic_rules, text)
            except Exception as exc:
                raise DetectorError(semantic_rules[0].name, "semantic", str(exc)) from exc
            for f in found:
                scores[f.rule.category] = max(scores.get(f.rule.category, 0.0), f.score)
                if f.score >= f.rule.threshold:
                    reasons.append(f.rule.reason(f.score, f.start, f.end))
        return _decision(policy, direction, kind, reasons, scores, text, started)

    def scan_fast(self, text: str, *, direction: Direction, kind: Kind = "text",
                  policy: Policy | None = None,
                  candidates: Sequence[CompiledRule] | None = None) -> Decision:
        """The rules that need no embedding call (patterns, PII, secrets, injection);
        `candidates`: the policy's screen of a text holding this one, when the caller
        screened several at once."""
        policy = policy or self.policy
        started = time.perf_counter()
        if candidates is None:
            candidates = policy.candidates(direction, kind, text)
        reasons, scores = _run(candidates, text)
        return _decision(policy, direction, kind, reasons, scores, text, started)

    @staticmethod
    def flagged_fast(text: str, *, direction: Direction, kind: Kind, policy: Policy,
                     candidates: Sequence[CompiledRule]) -> Decision | None:
        """`scan_fast`'s decision when a rule finds something in `text`, None when none
        does (most texts of a request: no decision is made for them). `candidates`: the
        policy's screen of a text holding this one."""
        started = time.perf_counter()
        reasons, scores = _run(candidates, text)
        if not reasons:
            return None
        return _decision(policy, direction, kind, reasons, scores, text, started)

    @staticmethod
    def reasons_fast(text: str, *, direction: Direction, policy: Policy,
                     candidates: Sequence[CompiledRule] | None = None) -> list[Reason]:
        """What `scan_fast` finds in a text, as its reasons alone (in the text's order): for
        a path that scans a stream piece by piece and keeps only what it finds. `candidates`:
        the policy's screen of a text holding this one (the rules that may match it), when
        the caller screened several texts at once."""
        if candidates is None:
            candidates = policy.candidates(direction, "text", text)
        reasons = _run(candidates, text)[0]
        if len(reasons) > 1:
            reasons.sort(key=_in_order)
        return reasons


def _run(rules: Sequence[CompiledRule], text: str) -> tuple[list[Reason], dict[str, float]]:
    reasons: list[Reason] = []
    if not rules:
        return reasons, {}
    scores: dict[str, float] = {}
    found: dict[int, list[Hit]] = {}  # rules sharing a detector (injection) run it once
    for rule in rules:
        hits = found.get(id(rule.find))
        if hits is None:
            try:
                hits = found[id(rule.find)] = list(rule.find(text))
            except Exception as exc:
                raise DetectorError(rule.name, rule.detector, str(exc)) from exc
        for hit in hits:
            scores[rule.category] = max(scores.get(rule.category, 0.0), hit.score)
            if hit.score >= rule.threshold:
                reasons.append(rule.reason(hit.score, hit.start, hit.end, hit.detector))
    return reasons, scores


def _in_order(r: Reason) -> tuple[int, int, str]:
    return r.start, r.end, r.rule


def _decision(policy: Policy, direction: Direction, kind: Kind, reasons: list[Reason],
              scores: dict[str, float], text: str, started: float) -> Decision:
    reasons.sort(key=_in_order)
    return Decision(
        action=strongest(r.action for r in reasons), reasons=tuple(reasons),
        direction=direction, kind=kind, policy=policy.label, scores=scores,
        metrics={"scan_ms": round((time.perf_counter() - started) * 1000, 3),
                 "chars": len(text), "rules": policy.count_for(direction, kind)})
