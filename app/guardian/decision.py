"""What the Guardian decided about one text, and its one JSON form.

A decision names its reasons by rule, category, detector, score and span offsets, never by
the matched text: the record goes to logs and the audit table, where a secret it quoted
would leak again. `decision_record` is the only serializer; its shape is fixed by
`configs/guardian/decision.schema.json` (schema_version below) and a snapshot test.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

SCHEMA_VERSION = "1.0"

Action = Literal["allow", "log", "redact", "block"]
Direction = Literal["input", "output"]
# What a text is: a message's text, a tool definition, an attached file's text, a document
# retrieved for the answer (file search, memory). Outputs are "text".
Kind = Literal["text", "tool", "file", "document"]
Category = Literal[
    # OpenAI's moderation categories (https://platform.openai.com/docs/api-reference/moderations)
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
    "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
    "sexual/minors", "violence", "violence/graphic",
    # ours
    "pii", "secrets", "prompt_injection", "policy",
]
ACTIONS: tuple[Action, ...] = get_args(Action)  # weakest first
CATEGORIES: tuple[Category, ...] = get_args(Category)
MODERATION_CATEGORIES: tuple[Category, ...] = CATEGORIES[:13]
KINDS: tuple[Kind, ...] = get_args(Kind)


def strongest(actions: Any) -> Action:
    """The strongest of `actions` (allow when there are none)."""
    return max(actions, key=ACTIONS.index, default="allow")


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that matched: where, by which detector, how sure (0..1)."""

    rule: str
    category: Category
    detector: str  # "pattern", "pii.email", "secrets.private_key", "injection", "semantic"...
    action: Action
    score: float
    start: int  # span offsets in the scanned text, in code points, end exclusive;
    end: int    # the whole text (0, len) for a detector that judges it as a whole
    replacement: str = field(default="", compare=False)  # for redact; never serialized


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one scan: the strongest action of its reasons."""

    action: Action
    reasons: tuple[Reason, ...] = ()
    direction: Direction = "input"
    kind: Kind = "text"
    policy: str = ""  # the policy's name and digest, "lukhas-guardian-1@3fa2…"
    # The highest score each detector gave a category, rules that fired or not (moderation).
    scores: Mapping[str, float] = field(default_factory=dict)
    metrics: Mapping[str, float | int] = field(default_factory=dict)

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    def categories(self) -> set[str]:
        """The categories of the rules that fired."""
        return {r.category for r in self.reasons}

    def redact(self, text: str, *, since: int = 0) -> tuple[str, int]:
        """`text` with every span of a redact (or block) reason replaced, and how many spans
        were; overlapping spans merge into one, which takes the first one's replacement.
        Spans are cut to start at `since` at the earliest (text before it is left as is)."""
        spans = sorted((max(r.start, since), r.end, r.replacement) for r in self.reasons
                       if r.action in ("redact", "block") and r.end > max(r.start, since))
        return splice(text, spans)


def decision_record(decision: Decision, *, correlation_id: str, lane: str,
                    emergency_active: bool, enforcement_enabled: bool,
                    timestamp: float | None = None) -> dict[str, Any]:
    """The decision's one JSON form (configs/guardian/decision.schema.json)."""
    at = time.time() if timestamp is None else timestamp
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
                             .replace("+00:00", "Z"),
        "correlation_id": correlation_id,
        "lane": lane,
        "emergency_active": emergency_active,
        "enforcement_enabled": enforcement_enabled,
        "decision": decision.action,
        "direction": decision.direction,
        "kind": decision.kind,
        "policy": decision.policy,
        "reasons": [{"rule": r.rule, "category": r.category, "detector": r.detector,
                     "action": r.action, "score": round(r.score, 4),
                     "span": {"start": r.start, "end": r.end}}
                    for r in decision.reasons],
        "metrics": dict(decision.metrics),
    }


def splice(text: str, spans: Iterable[tuple[int, int, str]]) -> tuple[str, int]:
    """`text` with each (start, end, replacement) span replaced, and how many were; empty
    spans are passed over, overlapping ones merge and take the first one's replacement."""
    merged: list[list[Any]] = []
    for start, end, repl in sorted(spans):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, repl])
    out, at = [], 0
    for start, end, repl in merged:
        out.append(text[at:start])
        out.append(repl)
        at = end
    out.append(text[at:])
    return "".join(out), len(merged)
