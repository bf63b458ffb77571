"""The deployment files are checked by the tools that run them: the Compose schema and linter,
hadolint, the Kubernetes schemas, and promtool's rule unit tests."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "tests" / "node" / "node_modules" / ".bin"
K8S = ROOT / "deploy" / "k8s"
PROMETHEUS = ROOT / "deploy" / "prometheus"
BIN = Path(sys.executable).parent


def _run(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def _tool(name: str, where: Path = BIN) -> Path:
    """A tool from the venv (or `where`), else from PATH (promtool: Debian's prometheus)."""
    found = where / name if (where / name).exists() else shutil.which(name)
    assert found, f"{name} is missing: `make test` installs it (see the Makefile)"
    return Path(found)


def test_compose_file_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    schema = json.loads((NODE_BIN.parent / "dclint" / "schemas" / "compose.schema.json")
                        .read_text())
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(compose)]
    assert errors == []
    lint = _run(_tool("dclint", NODE_BIN), "-c", ".dclintrc.yml", "docker-compose.yml")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_compose_mounts_exist_and_the_stack_is_whole() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    stack = {"facade", "postgres", "redis", "otel-collector", "prometheus", "grafana"}
    assert stack <= set(services)
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert services["facade"]["deploy"]["replicas"] == 2
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"


def test_dockerfile_passes_hadolint() -> None:
    result = _run(_tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]  # the image that ships: no compilers, not root
    assert "build-essential" not in final and "\nUSER 10001" in final
    assert "HEALTHCHECK" in final and "/healthz" in final


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    result = _run(_tool("kubernetes-validate"), "--strict", "-k", "1.31.0",
                  *sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"),
                  cwd=K8S)
    assert result.returncode == 0, result.stdout + result.stderr
    kinds = {d["kind"] for d in _manifests()}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= kinds


def test_kustomization_names_files_that_exist() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    for generator in kustomization["configMapGenerator"]:
        for file in generator.get("files", []):
            assert (K8S / file).resolve().is_file(), file


def test_deployment_probes_and_security_context() -> None:
    deployment = next(d for d in _manifests() if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["requests"] and container["resources"]["limits"]
    secrets = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]
               if "secretKeyRef" in e.get("valueFrom", {})}
    assert secrets == {"lukhas-secrets"}


def test_prometheus_rules_pass_their_unit_tests() -> None:
    promtool = _tool("promtool")
    check = _run(promtool, "check", "rules", *sorted((PROMETHEUS / "rules").glob("*.yml")))
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted(p.name for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    result = _run(promtool, "test", "rules", *tests, cwd=PROMETHEUS / "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_links_its_runbook_entry() -> None:
    # GitHub's heading anchors: lower case, spaces to hyphens, punctuation dropped.
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "ops" / "slos.md").read_text(), re.M)
    anchors = {re.sub(r"[^a-z0-9 _-]", "", h.lower()).replace(" ", "-") for h in headings}
    alerts = [r for path in sorted((PROMETHEUS / "rules").glob("*.yml"))
              for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]
              if "alert" in r]
    assert alerts
    for alert in alerts:
        page, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert page == "docs/ops/slos.md" and anchor in anchors, alert["alert"]


def test_slo_alerts_use_the_budgets_file() -> None:
    budgets = yaml.safe_load((ROOT / "configs" / "observability" / "slo_budgets.yaml")
                             .read_text())
    rules = yaml.safe_load((PROMETHEUS / "rules" / "slo.yml").read_text())
    recorded = {(r["record"], r["labels"]["route"]): r["expr"]
                for g in rules["groups"] for r in g["rules"] if "record" in r}
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    for route, slo in budgets["routes"].items():
        name = route.rsplit("/", 1)[1]
        bound = budgets["outer_bound"][route]["latency_p95_seconds"]
        assert slo["latency"]["threshold_seconds"] <= bound
        for window in ("5m", "30m", "1h", "6h"):
            expr = recorded[(f"lukhas:slo_slow:ratio_rate{window}", name)]
            assert f'le="{slo["latency"]["threshold_seconds"]}"' in expr
            assert f"[{window}]" in recorded[(f"lukhas:slo_errors:ratio_rate{window}", name)]
        for burn in budgets["burn_rate_alerts"]:
            for kind, objective in (("errors", slo["availability"]["objective"]),
                                    ("slow", slo["latency"]["objective"])):
                budget = round(1 - objective, 6)
                expected = (f'lukhas:slo_{kind}:ratio_rate{burn["long_window"]}'
                            f'{{route="{name}"}} > {burn["factor"]} * {budget:g}')
                assert any(expected in a["expr"] and
                           f'ratio_rate{burn["short_window"]}{{route="{name}"}}' in a["expr"]
                           and a["labels"]["severity"] == burn["severity"]
                           for a in alerts), expected


@pytest.mark.parametrize("bucket", ["0.8", "1.2"])
def test_latency_histogram_has_the_slo_thresholds_as_buckets(bucket: str) -> None:
    from app.middleware.register import _LATENCY_BUCKETS

    assert float(bucket) in _LATENCY_BUCKETS


def test_lock_pins_every_dependency_in_its_range() -> None:
    pinned: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            pinned[name.lower().replace("_", "-")] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is not {req}"
    text = (ROOT / "requirements.lock").read_text()
    assert text.count("--hash=sha256:") >= len(pinned)
