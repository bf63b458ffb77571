"""The Grafana dashboards are what deploy/grafana/build.py writes, and every metric a panel
queries is one the running service exports (or a recording rule of deploy/prometheus)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# PromQL words that look like metric names.
_PROMQL = {"sum", "by", "rate", "max", "min", "histogram_quantile", "le", "and", "or",
           "bool", "clamp_min", "avg", "without", "increase", "irate", "count"}


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _queried(expr: str) -> set[str]:
    """The metric names in a PromQL expression (labels, ranges and strings removed)."""
    expr = re.sub(r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"|\bby \([^)]*\)', " ", expr)
    return {n for n in _NAME.findall(expr) if n not in _PROMQL and not n[0].isdigit()}


def _exported_base(name: str) -> str:
    return re.sub(r"_(bucket|count|sum|total|created)$", "", name)


def test_committed_dashboards_are_what_the_builder_writes() -> None:
    build = _build()
    for uid in build.DASHBOARDS:
        committed = (GRAFANA / "dashboards" / f"{uid}.json").read_text()
        assert committed == build.render(uid), "run `python deploy/grafana/build.py`"
        model = json.loads(committed)
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids))


def test_every_panel_queries_a_metric_the_service_exports(base_url: str) -> None:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    exported = {_exported_base(m) for m in re.findall(r"^# TYPE (\S+)", text, re.M)}
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules" / "slo.yml").read_text())
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    missing = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                for name in _queried(target["expr"]):
                    if name not in recorded and _exported_base(name) not in exported:
                        missing.append(f"{path.name}: {panel['title']}: {name}")
    assert missing == []


def test_the_metric_finder_finds_metrics() -> None:
    # The check above is only as good as this parser.
    expr = ('histogram_quantile(0.95, sum by (stage, lane, le) '
            '(rate(lukhas_matriz_stage_seconds_bucket{lane="dev"}[$__rate_interval])))')
    assert _queried(expr) == {"lukhas_matriz_stage_seconds_bucket"}
    assert _queried("lukhas:slo_errors:ratio_rate1h and nope_total") == {
        "lukhas:slo_errors:ratio_rate1h", "nope_total"}
