"""Write the Grafana dashboards of deploy/grafana/dashboards/ from the panel lists below.

`python deploy/grafana/build.py` rewrites them; a test fails when the committed JSON is not
what this prints, and when a panel queries a metric the service does not export.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}

Panel = tuple[str, str, list[tuple[str, str]]]  # title, unit, [(expr, legend)]


def _quantile(q: float, metric: str, by: str = "") -> str:
    labels = f"{by}, le" if by else "le"
    return (f"histogram_quantile({q}, sum by ({labels}) "
            f"(rate({metric}_bucket[$__rate_interval])))")


def _p95(metric: str, by: str = "") -> str:
    return _quantile(0.95, metric, by)


HTTP: list[Panel] = [
    ("Requests per route", "reqps", [
        ("sum by (handler) (rate(http_requests_total[$__rate_interval]))", "{{handler}}")]),
    ("Errors (5xx) per route", "reqps", [
        ('sum by (handler) (rate(http_requests_total{status="5xx"}[$__rate_interval]))',
         "{{handler}}")]),
    ("Client errors (4xx) per route", "reqps", [
        ('sum by (handler) (rate(http_requests_total{status="4xx"}[$__rate_interval]))',
         "{{handler}}")]),
    ("Latency p95 per route", "s", [(_p95("http_request_duration_seconds", "handler"),
                                     "{{handler}}")]),
    ("429s and fail-open", "reqps", [
        ('sum by (route) (rate(lukhas_ratelimit_decisions_total{status="limited"}'
         '[$__rate_interval]))', "429 {{route}}"),
        ("sum by (route) (rate(lukhas_ratelimit_fail_open_total[$__rate_interval]))",
         "fail-open {{route}}")]),
    ("SLO: share of 5xx (1 h)", "percentunit", [
        ("lukhas:slo_errors:ratio_rate1h", "{{route}}")]),
    ("SLO: share of slow requests (1 h)", "percentunit", [
        ("lukhas:slo_slow:ratio_rate1h", "{{route}}")]),
    ("Authentication failures", "reqps", [
        ("sum by (surface, outcome) (rate(lukhas_auth_failures_total[$__rate_interval]))",
         "{{surface}} {{outcome}}")]),
]

UPSTREAM: list[Panel] = [
    ("Upstream requests by outcome", "reqps", [
        ("sum by (group, outcome) (rate(lukhas_upstream_requests_total[$__rate_interval]))",
         "{{group}} {{outcome}}")]),
    ("Upstream latency p95", "s", [(_p95("lukhas_upstream_latency_seconds", "upstream"),
                                    "{{upstream}}")]),
    ("Upstream time to first token p95", "s", [
        (_p95("lukhas_upstream_ttft_seconds", "upstream"), "{{upstream}}")]),
    ("Tokens per model group", "short", [
        ("sum by (group, kind) (rate(lukhas_upstream_tokens_total[$__rate_interval]))",
         "{{group}} {{kind}}")]),
    ("Fallbacks and retries", "reqps", [
        ("sum by (group) (rate(lukhas_upstream_fallbacks_total[$__rate_interval]))",
         "fallback {{group}}"),
        ("sum by (group) (rate(lukhas_upstream_retries_total[$__rate_interval]))",
         "retry {{group}}")]),
    ("Deployments in cooldown", "short", [
        ("max by (upstream) (lukhas_upstream_cooldowns)", "{{upstream}}")]),
]

MATRIZ: list[Panel] = [
    ("Stage p95 per lane", "s", [(_p95("lukhas_matriz_stage_seconds", "stage, lane"),
                                  "{{stage}} ({{lane}})")]),
    ("Stages over budget", "reqps", [
        ("sum by (stage, lane) (rate(lukhas_matriz_stage_over_budget_total"
         "[$__rate_interval]))", "{{stage}} ({{lane}})")]),
    ("Pipeline runs by outcome", "reqps", [
        ("sum by (status, lane) (rate(lukhas_matriz_pipeline_runs_total[$__rate_interval]))",
         "{{status}} ({{lane}})")]),
    ("Tick p95", "s", [(_p95("lukhas_matriz_tick_seconds", "lane"), "{{lane}}")]),
    ("Tick buffer and drops", "short", [
        ("sum by (lane) (lukhas_matriz_tick_buffer_events)", "buffered ({{lane}})"),
        ("sum by (lane) (rate(lukhas_matriz_tick_events_dropped_total[$__rate_interval]))",
         "dropped/s ({{lane}})")]),
    ("Awareness: latency and unknown-answer EMAs", "short", [
        ("max by (lane) (lukhas_matriz_awareness_latency_ema_seconds)", "latency s ({{lane}})"),
        ("max by (lane) (lukhas_matriz_awareness_unknown_ratio_ema)",
         "unknown ratio ({{lane}})")]),
    ("Memory documents per lane", "short", [
        ("max by (lane) (lukhas_memory_documents)", "{{lane}}")]),
    ("Memory search and write p95", "s", [
        (_p95("lukhas_memory_search_seconds", "job"), "search"),
        (_p95("lukhas_memory_upsert_seconds", "job"), "write")]),
    ("Embeddings: wait and model p95", "s", [
        (_p95("lukhas_embeddings_wait_seconds", "model"), "wait {{model}}"),
        (_p95("lukhas_embeddings_seconds", "model"), "model {{model}}")]),
]

ENGINES: list[Panel] = [
    ("DriftScore v2 and coherence per lane", "short", [
        ("max by (lane) (lukhas_drift_ema)", "drift ({{lane}})"),
        ("max by (lane) (lukhas_coherence)", "coherence ({{lane}})")]),
    ("Models held for drift", "short", [
        ("max by (lane, model) (lukhas_drift_blocked)", "{{model}} ({{lane}})")]),
    ("Breakthrough flags and latest z", "short", [
        ("sum by (lane, kind) (increase(lukhas_breakthrough_flags_total[$__rate_interval]))",
         "flags {{kind}} ({{lane}})"),
        ("max by (lane) (lukhas_breakthrough_z)", "z ({{lane}})")]),
    ("Tick engines p95", "s", [(_p95("lukhas_matriz_engine_seconds", "component"),
                                "{{component}}")]),
    ("Experience log: written, dropped, failed writes", "short", [
        ("sum by (lane) (rate(lukhas_experience_events_total[$__rate_interval]))",
         "written/s ({{lane}})"),
        ("sum by (lane) (rate(lukhas_experience_dropped_total[$__rate_interval]))",
         "dropped/s ({{lane}})"),
        ("sum by (lane) (rate(lukhas_experience_write_failures_total[$__rate_interval]))",
         "failed writes/s ({{lane}})")]),
    ("Reflection p95", "s", [(_p95("lukhas_reflection_seconds", "lane"), "{{lane}}")]),
    ("Consolidation: folds and breaker", "short", [
        ("sum by (lane) (increase(lukhas_memory_folds_total[$__rate_interval]))",
         "folds ({{lane}})"),
        ("sum by (lane) (increase(lukhas_memory_circuit_breaks_total[$__rate_interval]))",
         "breaker opened ({{lane}})")]),
    ("Consolidation pass p95", "s", [(_p95("lukhas_memory_consolidation_seconds", "lane"),
                                      "{{lane}}")]),
]

GUARDIAN: list[Panel] = [
    ("Guardian decisions by direction and action", "ops", [
        ("sum by (lane, direction, action) (rate(lukhas_guardian_decisions_total"
         "[$__rate_interval]))", "{{direction}} {{action}} ({{lane}})")]),
    ("Guardian decisions by category", "ops", [
        ("sum by (lane, category, action) (rate(lukhas_guardian_findings_total"
         "[$__rate_interval]))", "{{category}} {{action}} ({{lane}})")]),
    ("Guardian refusals by outcome", "reqps", [
        ("sum by (lane, outcome) (rate(lukhas_guardian_refused_total[$__rate_interval]))",
         "{{outcome}} ({{lane}})")]),
    ("Guardian failures by operation", "ops", [
        ("sum by (lane, operation) (rate(lukhas_guardian_failures_total[$__rate_interval]))",
         "{{operation}} ({{lane}})")]),
    ("Guardian request scan p50 and p95", "s", [
        (_quantile(0.5, "lukhas_guardian_scan_seconds", "lane"), "p50 ({{lane}})"),
        (_p95("lukhas_guardian_scan_seconds", "lane"), "p95 ({{lane}})")]),
    ("Semantic reviews skipped", "ops", [
        ("sum by (lane, direction) (rate(lukhas_guardian_reviews_skipped_total"
         "[$__rate_interval]))", "{{direction}} ({{lane}})")]),
    ("Kill switch and mode", "short", [
        ("max by (lane) (lukhas_guardian_kill_switch_engaged)", "kill switch engaged ({{lane}})"),
        ("max by (lane, mode) (lukhas_guardian_mode == 1)", "mode {{mode}} ({{lane}})")]),
    ("Guardian audit write failures", "ops", [
        ("sum by (lane) (rate(lukhas_guardian_audit_failures_total[$__rate_interval]))",
         "{{lane}}")]),
]

DREAMS: list[Panel] = [
    ("Dreams started and ended by status", "short", [
        ("sum(increase(lukhas_dreams_started_total[$__rate_interval]))", "started"),
        ("sum by (status) (increase(lukhas_dreams_total[$__rate_interval]))",
         "ended {{status}}")]),
    ("Dream duration p50 and p95 (creation to end)", "s", [
        (_quantile(0.5, "lukhas_dream_seconds"), "p50"),
        (_p95("lukhas_dream_seconds"), "p95")]),
    ("Dream phase p95", "s", [(_p95("lukhas_dream_phase_seconds", "stage"), "{{stage}}")]),
    ("Dream merge proposals by outcome", "short", [
        ("sum by (outcome) (increase(lukhas_dream_proposals_total[$__rate_interval]))",
         "{{outcome}}")]),
]

# New sections go last: a panel's id is its place, and links to a panel name its id.
DASHBOARDS: dict[str, tuple[str, list[tuple[str, list[Panel]]]]] = {
    "lukhas-overview": ("LUKHAS façade", [("HTTP and limits", HTTP),
                                          ("Upstream models", UPSTREAM),
                                          ("MATRIZ, tick and memory", MATRIZ),
                                          ("Engines: drift, breakthroughs, experience, sleep",
                                           ENGINES),
                                          ("Guardian", GUARDIAN),
                                          ("Dreams", DREAMS)]),
}


def _panel(pid: int, title: str, unit: str, targets: list[tuple[str, str]], x: int,
           y: int) -> dict[str, Any]:
    return {
        "id": pid, "type": "timeseries", "title": title, "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr,
                     "legendFormat": legend} for i, (expr, legend) in enumerate(targets)],
    }


def dashboard(uid: str) -> dict[str, Any]:
    """One dashboard as Grafana's JSON model: a row per section, two panels a line."""
    title, sections = DASHBOARDS[uid]
    panels: list[dict[str, Any]] = []
    y = 0
    for name, section in sections:
        panels.append({"id": len(panels) + 1, "type": "row", "title": name, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y += 1
        for i, (ptitle, unit, targets) in enumerate(section):
            panels.append(_panel(len(panels) + 1, ptitle, unit, targets, 12 * (i % 2), y))
            y += 8 * (i % 2)
        y += 8 * (len(section) % 2)
    return {"uid": uid, "title": title, "tags": ["lukhas"], "timezone": "utc",
            "schemaVersion": 39, "version": 1, "editable": False, "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"}, "panels": panels, "templating": {"list": []},
            "annotations": {"list": []}}


def render(uid: str) -> str:
    """The file's text."""
    return json.dumps(dashboard(uid), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for uid in DASHBOARDS:
        (OUT / f"{uid}.json").write_text(render(uid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
