"""With an OTLP endpoint set, requests and pipeline stages are exported as spans, and log
lines carry the trace id. The collector here is a real HTTP server speaking OTLP/HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import KEY_A
from tests.utils.server import start_uvicorn

pytestmark = pytest.mark.slow


class Collector:
    def __init__(self) -> None:
        self.spans: list[tuple[str, str]] = []  # (name, trace id)
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans += [(s.name, s.trace_id.hex()) for s in scope.spans]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


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
        while time.monotonic() < deadline and not wanted <= {n for n, _ in collector.spans}:
            time.sleep(0.1)
    finally:
        server.stop()
    names = {n for n, _ in collector.spans}
    assert wanted <= names, names
    assert "POST /v1/responses" in names
    request_trace = next(t for n, t in collector.spans if n == "POST /v1/responses")
    assert {t for n, t in collector.spans if n in wanted} == {request_trace}
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("logger") == "lukhas.access"
              and e.get("path") == "/v1/responses"]
    assert access and access[0]["trace_id"] == request_trace
    assert access[0]["request_id"] == resp.headers["x-request-id"]
