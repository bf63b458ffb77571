"""The Guardian's output policy, loaded from `configs/guardian/output.yaml`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "configs" / "guardian" / "output.yaml"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    replacement: str = ""


@dataclass(frozen=True, slots=True)
class OutputPolicy:
    redact: tuple[Rule, ...]
    block: tuple[Rule, ...]

    def apply(self, text: str) -> tuple[str, int]:
        """`text` with every redaction applied, and how many were made."""
        count = 0
        for rule in self.redact:
            text, n = rule.pattern.subn(rule.replacement, text)
            count += n
        return text, count

    def blocked_by(self, text: str) -> str | None:
        """The name of the first block rule `text` matches, or None."""
        for rule in self.block:
            if rule.pattern.search(text):
                return rule.name
        return None


def load_output_policy(path: Path = DEFAULT_PATH) -> OutputPolicy:
    """Parse the policy file; a bad pattern fails at start, not mid-request."""
    raw = yaml.safe_load(path.read_text()) or {}

    def rules(key: str) -> tuple[Rule, ...]:
        return tuple(
            Rule(r["name"], re.compile(r["pattern"]), r.get("replacement", ""))
            for r in raw.get(key) or []
        )

    return OutputPolicy(redact=rules("redact"), block=rules("block"))
