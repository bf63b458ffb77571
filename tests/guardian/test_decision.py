"""The decision's one JSON form: fixed by its JSON Schema and a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest

from app.guardian.decision import SCHEMA_VERSION, Decision, Reason, decision_record
from app.guardian.engine import Guardian
from app.guardian.reload import load_policy

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "configs" / "guardian" / "decision.schema.json").read_text())
SNAPSHOT = Path(__file__).parent / "snapshots" / "decision.json"


def _decision() -> Decision:
    return Decision(
        action="block",
        reasons=(
            Reason("secrets.output.tokens", "secrets", "secrets.api_key", "redact", 1.0, 10, 38,
                   "[redacted]"),
            Reason("secrets.output.private_key", "secrets", "secrets.private_key", "block", 1.0,
                   40, 75),
        ),
        direction="output", kind="text", policy="lukhas-guardian-1@0123456789ab",
        scores={"secrets": 1.0}, metrics={"scan_ms": 0.25, "chars": 80, "rules": 7})


def _record() -> dict[str, object]:
    return decision_record(_decision(), correlation_id="req_0123", lane="integration",
                           emergency_active=False, enforcement_enabled=True,
                           timestamp=1_764_669_600.125)


def test_the_form_matches_its_snapshot() -> None:
    """A change to the form fails here: bump SCHEMA_VERSION, the schema and the snapshot."""
    assert _record() == json.loads(SNAPSHOT.read_text())
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_the_form_matches_its_schema_both_ways() -> None:
    record = _record()
    jsonschema_rs.validate(SCHEMA, record)
    assert set(SCHEMA["required"]) == set(record) == set(SCHEMA["properties"])
    reason = SCHEMA["properties"]["reasons"]["items"]
    assert set(reason["required"]) == set(record["reasons"][0])  # type: ignore[index]


@pytest.mark.parametrize("extra", [{"matched": "sk-..."}, {"decision": "maybe"}])
def test_the_schema_refuses_what_the_form_never_holds(extra: dict[str, str]) -> None:
    with pytest.raises(jsonschema_rs.ValidationError):
        jsonschema_rs.validate(SCHEMA, {**_record(), **extra})


def test_a_real_decision_names_rules_never_the_text() -> None:
    secret = "sk-proj-Q7x9Lm2Vb8Rt4Kp6Zw1Nc3"
    text = f"the key is {secret}, card 4111 1111 1111 1111, mail ada@example.org"
    decision = Guardian(load_policy(), None).scan_fast(text, direction="output")
    record = decision_record(decision, correlation_id="req_1", lane="production",
                             emergency_active=True, enforcement_enabled=True)
    jsonschema_rs.validate(SCHEMA, record)
    dumped = json.dumps(record)
    for leaked in (secret, "4111", "ada@example.org"):
        assert leaked not in dumped
    spans = [(r["span"]["start"], r["span"]["end"]) for r in record["reasons"]]
    assert (text.index(secret), text.index(secret) + len(secret)) in spans
    assert record["decision"] == "redact"
