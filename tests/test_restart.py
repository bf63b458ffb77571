"""`lukhas serve` on its embedded defaults: stored responses survive a restart; SIGTERM and
a crash both leave the data dir usable."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.utils.server import generous_limits, start_lukhas_serve

pytestmark = pytest.mark.slow


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def test_stored_response_survives_restart_on_same_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"LUKHAS_DATA_DIR": str(data_dir)}
    first = start_lukhas_serve(env, tmp_path / "first.log")
    try:
        assert "Generated an API key" in first.output()
        key = (data_dir / "api_key").read_text().strip()
        assert key in first.output(), "the generated key is printed once at start"
        auth = {"Authorization": f"Bearer {key}"}
        created = httpx.post(f"{first.base_url}/v1/responses", headers=auth, timeout=30,
                             json={"model": "lukhas-matriz", "input": "What is 20+22?"})
        assert created.status_code == 200, created.text
    finally:
        assert first.stop(signal.SIGTERM) == 0
    assert _postmaster_pid(data_dir) is None, "SIGTERM stops the embedded PostgreSQL"

    second = start_lukhas_serve(env, tmp_path / "second.log")
    try:
        assert key not in second.output(), "the key is printed only when generated"
        got = httpx.get(f"{second.base_url}/v1/responses/{created.json()['id']}",
                        headers=auth, timeout=30)
        assert got.status_code == 200
        assert got.json()["output"] == created.json()["output"]
        pg_pid = _postmaster_pid(data_dir)
        assert pg_pid is not None
        # A crash: the service dies without cleaning up; PostgreSQL is left running.
        second.stop(signal.SIGKILL)
    finally:
        second.stop()
    assert pg_pid is not None and psutil.pid_exists(pg_pid)

    third = start_lukhas_serve(env, tmp_path / "third.log")
    try:
        got = httpx.get(f"{third.base_url}/v1/responses/{created.json()['id']}",
                        headers=auth, timeout=30)
        assert got.status_code == 200, "the stale server is recovered on the next start"
    finally:
        assert third.stop(signal.SIGINT) == 0
    assert _postmaster_pid(data_dir) is None


def test_a_killed_postmaster_is_restarted_and_service_returns(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_lukhas_serve({"LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
                                 "LUKHAS_RATE_LIMITS_FILE": str(generous_limits(tmp_path))},
                                tmp_path / "serve.log")
    try:
        auth = {"Authorization": f"Bearer {(data_dir / 'api_key').read_text().strip()}"}
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
            created = http.post("/v1/responses",
                                json={"model": "lukhas-matriz", "input": "What is 2+3?"})
            assert created.status_code == 200, created.text
            rid = created.json()["id"]
            old = _postmaster_pid(data_dir)
            assert old is not None
            psutil.Process(old).kill()  # kill -9

            seen: list[int] = []
            ready_failed = False
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                resp = http.get(f"/v1/responses/{rid}")
                seen.append(resp.status_code)
                if resp.status_code != 200:
                    assert resp.status_code == 503, resp.text
                    assert resp.headers["x-should-retry"] == "true"
                    assert resp.json()["error"]["code"] == "database_unavailable"
                ready = http.get("/readyz").status_code
                ready_failed = ready_failed or ready == 503
                if ready == 200 and ready_failed and resp.status_code == 200:
                    break
                assert http.get("/healthz").status_code == 200, "the process still serves"
                time.sleep(0.02)
            assert ready_failed and 503 in seen, "the outage was noticed"
            assert http.get("/readyz").status_code == 200, "ready again, without a restart"
            assert server.proc.poll() is None
            assert _postmaster_pid(data_dir) not in (None, old)
            again = http.get(f"/v1/responses/{rid}")
            assert again.json()["output"] == created.json()["output"]
            more = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "4+4?"})
            assert more.status_code == 200
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.output()[-3000:]
    assert _postmaster_pid(data_dir) is None, "and SIGTERM still stops it"
