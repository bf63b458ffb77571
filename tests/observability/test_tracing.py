"""With an OTLP endpoint set, requests and pipeline stages are exported as spans, and log
lines carry the trace id. The collector here is a real HTTP server speaking OTLP/HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import KEY_A
from tests.utils.otlp import Collector, collecting
from tests.utils.server import start_uvicorn

pytestmark = pytest.mark.slow


@pytest.fixture
def collector() -> Iterator[Collector]:
    yield from collecting()


def test_spans_are_exported_and_logs_carry_the_trace_id(
    collector: Collector, pg_url: str, tmp_path: Path
) -> None:
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(tmp_path), "LUKHAS_LOG_LEVEL": "info",
           "LUKHAS_ACCESS_LOG": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
           "OTEL_BSP_SCHEDULE_DELAY": "50"}
    server = start_uvicorn(env, tmp_path / "server.log")
    try:
        resp = httpx.post(f"{server.base_url}/v1/responses", timeout=30,
                          headers={"Authorization": f"Bearer {KEY_A}"},
                          json={"model": "lukhas-matriz", "input": "What is 2+2?"})
        assert resp.status_code == 200
        deadline = time.monotonic() + 15
        wanted = {f"matriz.{s}" for s in
                  ("memory", "attention", "thought", "risk", "intent", "action")}
        while time.monotonic() < deadline and not wanted <= {s.name for s in collector.spans}:
            time.sleep(0.1)
    finally:
        server.stop()
    names = {s.name for s in collector.spans}
    assert wanted <= names, names
    assert "POST /v1/responses" in names
    request_trace = next(s.trace_id for s in collector.spans if s.name == "POST /v1/responses")
    assert {s.trace_id for s in collector.spans if s.name in wanted} == {request_trace}
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("logger") == "lukhas.access"
              and e.get("path") == "/v1/responses"]
    assert access and access[0]["trace_id"] == request_trace
    assert access[0]["request_id"] == resp.headers["x-request-id"]
