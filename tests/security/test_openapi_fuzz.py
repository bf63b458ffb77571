"""Fuzz the committed OpenAPI document against `lukhas serve` with schemathesis.

Every operation gets valid and invalid requests (schemathesis' positive and negative modes),
sent with a T3 API key to a real server process (h11 transport, real Redis, embedded
PostgreSQL with a database of its own). Each answer must be no 5xx, a status the document
lists for the operation, a content type it lists, and a body that matches its schema.
Findings are collected, not raised one by one, so the run reports them all; the figures are
printed (`pytest -s` shows them).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.core.failures import Failure, FailureGroup

from tests.conftest import KEY_A, REDIS_TEST_URL
from tests.utils.server import ServerProcess, start_lukhas_serve

pytestmark = pytest.mark.security

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "lukhas-openai.yaml"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
EXAMPLES_PER_MODE = 40  # per operation and mode: about 2,500 requests over 33 operations
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance")
# Generous limits: the run is about answers, not about being throttled.
LIMITS = """
window_seconds: 60
default: {requests: 100000, tokens: 100000000}
"""


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    by_operation: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [f"schemathesis fuzz: {self.operations} operations, {self.requests} requests, "
                 f"{len(self.server_errors)} 5xx, {len(self.violations)} schema violations",
                 "statuses: " + _counts(self.statuses)]
        lines += [f"  {label}: {_counts(c)}" for label, c in self.by_operation.items()]
        lines += [f"5xx: {e}" for e in self.server_errors[:20]]
        lines += [f"violation: {v}" for v in self.violations[:20]]
        return "\n".join(lines)


def _counts(counter: collections.Counter[int]) -> str:
    return ", ".join(f"{status}×{n}" for status, n in sorted(counter.items()))


@pytest.fixture
def fuzz_server(fresh_db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    from redis import Redis

    with Redis.from_url(REDIS_TEST_URL) as redis:
        redis.flushdb()
    limits = tmp_path / "limits.yaml"
    limits.write_text(LIMITS)
    env = {"LUKHAS_DATABASE_URL": fresh_db_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_API_KEY_TIER": "T3", "LUKHAS_REDIS_URL": REDIS_TEST_URL,
           "LUKHAS_RATE_LIMITS_FILE": str(limits), "LUKHAS_DATA_DIR": str(tmp_path),
           "LUKHAS_LOG_LEVEL": "warning"}
    server = start_lukhas_serve(env, tmp_path / "server.log")
    yield server
    server.stop()
    with Redis.from_url(REDIS_TEST_URL) as redis:
        redis.flushdb()


def _describe(case: Any, response: requests.Response, detail: str) -> str:
    sent = response.request
    body = sent.body if isinstance(sent.body, bytes) else str(sent.body or "").encode()
    return (f"{sent.method} {sent.url} body={body[:200]!r} → {response.status_code} "
            f"{response.headers.get('content-type', '')}: {detail[:300]}")


# Values a valid request needs that the document cannot say (which models are served, which
# ids exist): substituted into the positive cases, so they get past the 404 and into the
# service. Negative cases are sent as generated.
SERVED = {"/v1/responses": "lukhas-matriz", "/v1/chat/completions": "lukhas-matriz",
          "/v1/embeddings": "lukhas-hash-v1", "/v1/indexes": "lukhas-hash-v1"}


def _seed(base_url: str) -> dict[str, str]:
    """A stored response, an index and one of its documents, for path parameters."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY_A}"},
                      timeout=30) as http:
        response = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "Hi"})
        index = http.post("/v1/indexes", json={"name": "fuzz-seed"})
        added = http.post(f"/v1/indexes/{index.json()['id']}/documents",
                          json={"documents": [{"text": "a seed document"}]})
    return {"response_id": response.json()["id"], "index_id": index.json()["id"],
            "document_id": added.json()["data"][0]["id"], "model_id": "lukhas-matriz"}


def _make_it_reach_the_service(case: Any, known: dict[str, str]) -> None:
    path = case.operation.path
    if isinstance(case.body, dict) and path in SERVED and "model" in case.body:
        case.body["model"] = SERVED[path]
    if isinstance(case.body, dict) and path == "/v1/identity/tokens":
        case.body["tier"] = "T2"
        case.body.pop("scopes", None)
    if case.path_parameters and case.method.upper() != "DELETE":
        case.path_parameters.update(
            {k: known[k] for k in case.path_parameters if k in known})


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    fuzz_server: ServerProcess,
) -> None:
    schema = schemathesis.openapi.from_path(DOC)
    checks = [CHECKS.get_one(name) for name in CHECK_NAMES]
    tally = Tally()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY_A}"

    known = _seed(fuzz_server.base_url)

    def exercise(case: Any) -> None:
        if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
            _make_it_reach_the_service(case, known)
        response = case.call(base_url=fuzz_server.base_url, session=session, timeout=30)
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        tally.by_operation[case.operation.label][response.status_code] += 1
        if response.status_code >= 500:
            tally.server_errors.append(_describe(case, response, response.text))
        try:
            case.validate_response(response, checks=checks)
        except (Failure, FailureGroup) as found:
            failures = found.exceptions if isinstance(found, FailureGroup) else (found,)
            for failure in failures:
                # A 5xx is counted above; its "undocumented status" is the same finding.
                if response.status_code < 500:
                    tally.violations.append(_describe(
                        case, response, f"{failure.code} {failure.title}: {failure.message}"))

    fuzz = settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None,
                    derandomize=True, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(given(case=operation.as_strategy(generation_mode=mode))(exercise))()
            except Unsatisfiable:  # nothing in this operation's request can be made invalid
                assert mode is GenerationMode.NEGATIVE, operation.label
    print("\n" + tally.report())  # noqa: T201 - the figures this test exists to give
    # Every operation of the document was exercised.
    documented = sum(len([m for m in item if m in _METHODS])
                     for item in yaml.safe_load(DOC.read_text())["paths"].values())
    assert tally.operations == documented
    assert not tally.server_errors, tally.report()
    assert not tally.violations, tally.report()
    assert "Exception in ASGI application" not in fuzz_server.output()
