"""Telemetry contracts (configs/observability/contracts/): each MATRIZ stage, engine and
component declares its spans (with their required attributes) and its metrics (with their
labels). The service is run with tracing on and a real OTLP collector, through the built-in
model and a routed upstream model; a declared span or attribute that is missing fails, and so
does a metric or a label that no contract declares. `make validate-contracts` runs this file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.utils.mock_upstream import MockUpstream
from tests.utils.otlp import Collector, collecting
from tests.utils.routed import routed_app, routing

CONTRACTS = Path(__file__).resolve().parents[2] / "configs" / "observability" / "contracts"
_PROM_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram"}


def _contracts() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(CONTRACTS.glob("*.yaml"))]


def _declared_metrics() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for contract in _contracts():
        for metric in contract["metrics"]:
            seen = merged.setdefault(metric["name"], metric)
            assert seen == metric, f"{metric['name']} is declared twice, differently"
    return merged


def test_every_contract_follows_the_schema() -> None:
    validator = jsonschema_rs.validator_for(json.loads((CONTRACTS / "schema.json").read_text()))
    contracts = sorted(CONTRACTS.glob("*.yaml"))
    assert {c["component"] for c in map(lambda p: yaml.safe_load(p.read_text()), contracts)} >= {
        "memory", "attention", "thought", "risk", "intent", "action", "tick"}
    for path in contracts:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], f"{path.name}: {errors}"


@pytest.fixture
def collector() -> Iterator[Collector]:
    yield from collecting()


async def _run_traffic(pg_url: str, tmp_path: Path, mock_upstream: MockUpstream,
                       collector: Collector, monkeypatch: pytest.MonkeyPatch) -> CollectorRegistry:
    """Built-in and routed requests with tracing on; the app's metric registry."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    async with routed_app(pg_url, tmp_path, routing(mock_upstream.url)) as routed:
        await routed.sdk.responses.create(model="lukhas-matriz", input="What is 2+2?")
        await routed.sdk.responses.create(model="gpt-test", input="Say hello.")
        await routed.sdk.embeddings.create(model="lukhas-hash-v1", input="contracts")
        registry: CollectorRegistry = routed.state.metrics.registry
    return registry  # the lifespan's end flushed every span to the collector


async def test_spans_and_metrics_keep_their_contracts(
    pg_url: str, tmp_path: Path, mock_upstream: MockUpstream, collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = await _run_traffic(pg_url, tmp_path, mock_upstream, collector, monkeypatch)
    spans = collector.spans
    by_id = collector.by_id()
    declared_spans = {s["name"]: s for c in _contracts() for s in c["spans"]}
    problems = []
    for name, contract in declared_spans.items():
        found = [s for s in spans if s.name == name]
        if not found:
            problems.append(f"span {name}: not emitted")
            continue
        for span in found:
            missing = set(contract["attributes"]) - set(span.attributes)
            if missing:
                problems.append(f"span {name}: attributes missing {sorted(missing)}")
            parent = by_id.get(span.parent_id)
            expected = contract["parent"]
            if expected != "request" and (parent is None or parent.name != expected):
                problems.append(f"span {name}: parent {parent and parent.name}, not {expected}")
    for span in spans:
        if span.name.startswith(("matriz.", "upstream.")) and span.name not in declared_spans:
            problems.append(f"span {span.name}: in no contract")
    declared = _declared_metrics()
    for collector_ in list(registry._collector_to_names):
        name = getattr(collector_, "_name", "")
        if not name.startswith("lukhas_"):
            continue
        kind = getattr(collector_, "_type", "")
        full = name + ("_total" if kind == "counter" else "")
        contract = declared.get(full)
        if contract is None:
            problems.append(f"metric {full}: in no contract")
            continue
        labels = list(getattr(collector_, "_labelnames", ()))
        if sorted(labels) != sorted(contract["labels"]):
            problems.append(f"metric {full}: labels {labels}, contract {contract['labels']}")
        if _PROM_TYPES[contract["type"]] != kind:
            problems.append(f"metric {full}: a {kind}, contract says {contract['type']}")
    exported = {getattr(c, "_name", "") + ("_total" if getattr(c, "_type", "") == "counter"
                                          else "") for c in registry._collector_to_names}
    problems += [f"metric {m}: declared, not exported" for m in declared if m not in exported]
    assert problems == []
