"""`make evals`, against the live test server: every case of the built-in model's suites
passes (it is deterministic), and the JSON, Markdown and JUnit reports are written."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from evals.run import Answer, check, load, main
from tests.conftest import KEY_A


def test_every_suite_passes_and_reports_are_written(base_url: str, tmp_path: Path) -> None:
    out = tmp_path / "evals"
    assert main(["--base-url", f"{base_url}/v1", "--key", KEY_A, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["scores"]) == set(load())
    assert {"guardian", "dreams"} <= set(results["scores"])
    assert all(s["score"] == 1.0 for s in results["scores"].values())
    junit = ElementTree.parse(out / "junit.xml").getroot()
    cases = sum(len(c) for c in load().values())
    assert sum(int(s.get("tests", 0)) for s in junit) == cases
    assert "| arithmetic |" in (out / "results.md").read_text()


def test_checks_fail_what_they_should() -> None:
    # The harness is only as good as its checks.
    assert check({"contains": ["42"]}, Answer(text="it is 41")) == ["does not contain '42'"]
    assert check({"not_contains": ["Ada"]}, Answer(text="Ada")) == ["contains 'Ada'"]
    assert check({"events": ["a", "b"]}, Answer(events=["b", "a"]))
    assert check({"events": ["a", "b"]}, Answer(events=["a", "x", "b"])) == []
    assert check({"error": {"status": 404}}, Answer(error={"status": 400}))
    assert check({"contains": ["x"]}, Answer(text="x", error={"status": 500}))
    made = [{"call_id": "call_1", "name": "f", "arguments": '{"a": 1}'}]
    assert check({"calls": []}, Answer(calls=made))
    assert check({"calls": [{"name": "f", "arguments": {"a": 2}}]}, Answer(calls=made))
    assert check({"calls": [{"name": "f", "arguments": {"a": 1}}]}, Answer(calls=made)) == []
    assert check({"json": {"a": 1}}, Answer(text="not JSON"))
    assert check({"json": {"a": 1}}, Answer(text='{"a": 1, "b": 2}'))
    assert check({"json": {"a": 1}}, Answer(text='{"a": 1}')) == []
    filtered = {"incomplete_details": {"reason": "content_filter", "redactions": 1}}
    assert check({"fields": {"incomplete_details.redactions": 0}}, Answer(fields=filtered))
    assert check({"fields": {"incomplete_details.redactions": 1}}, Answer(fields=filtered)) == []
    assert check({"fields": {"incomplete_details": None}}, Answer(fields=filtered))
    assert check({"fields": {"summary.memories": 3}}, Answer(fields={"summary": None}))
    # What a stream sent must be what its response says (nothing held back leaks, or is lost).
    assert check({}, Answer(text="[pii]", streamed="4111 1111 1111 1111"))
    assert check({}, Answer(text="[pii]", streamed="[pii]")) == []
    # A refusal's message is its text: it must not name the rule.
    refused = Answer(text="Rejected by content.weapons", error={"status": 400})
    assert check({"error": {"status": 400}, "not_contains": ["content."]}, refused)
