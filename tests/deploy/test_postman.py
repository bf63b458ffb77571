"""The Postman collection (`make postman`): the committed one is the generated one, every
operation of the OpenAPI document has an example, and newman runs the whole collection
against a live service with every test passing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import KEY_A

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import postman  # noqa: E402

NEWMAN = ROOT / "tests" / "node" / "node_modules" / ".bin" / "newman"


def test_committed_collection_is_generated() -> None:
    assert postman.COLLECTION.read_text() == postman.generate(), "run `make postman`"


def test_an_operation_without_an_example_is_refused() -> None:
    doc = yaml.safe_load(postman.OPENAPI.read_text())
    doc["paths"]["/v1/widgets"] = {"get": {"summary": "List widgets"}}
    with pytest.raises(postman.FlowError, match="GET /v1/widgets"):
        postman.build(doc, postman.load_flow())


def test_a_body_the_schema_refuses_is_named() -> None:
    doc = yaml.safe_load(postman.OPENAPI.read_text())
    flow = postman.load_flow()
    step = next(s for _, steps in flow for s in steps if s["operation"] == "POST /v1/indexes")
    step["body"] = {"name": "handbook", "metric": "manhattan"}
    with pytest.raises(postman.FlowError, match=f"step {step['name']!r}.*request schema"):
        postman.build(doc, flow)


@pytest.mark.node
def test_newman_runs_the_collection(base_url: str, tmp_path: Path) -> None:
    assert NEWMAN.exists() or shutil.which("npm") is None, "npm install in tests/node"
    report = tmp_path / "newman.json"
    result = subprocess.run(
        [str(NEWMAN), "run", str(postman.COLLECTION), "--env-var", f"baseUrl={base_url}",
         "--env-var", f"apiKey={KEY_A}", "--reporters", "cli,json",
         "--reporter-json-export", str(report), "--timeout-request", "30000",
         "--color", "off"],
        capture_output=True, text=True, timeout=300, check=False)
    run = json.loads(report.read_text())["run"]
    failures = [f"{f['source']['name']}: {f['error']['message']}" for f in run["failures"]]
    assert result.returncode == 0 and not failures, "\n".join(failures) or result.stdout
    steps = sum(len(steps) for _, steps in postman.load_flow())
    # Each step ran once (the stats count a script's own requests too: the dream's polling).
    assert run["stats"]["items"]["total"] == steps and run["stats"]["items"]["failed"] == 0
    assert run["stats"]["assertions"]["failed"] == 0
    assert run["stats"]["assertions"]["total"] > 2 * steps
