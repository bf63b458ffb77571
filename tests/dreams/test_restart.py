"""A dream interrupted by a real restart: `lukhas serve` is killed (SIGKILL) while the dream
waits on its upstream; the next start finds the dream's claim lapsed and resumes it from the
phase it was in, and it completes. Nothing is left running for ever."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routing
from tests.utils.server import generous_limits, start_lukhas_serve

pytestmark = pytest.mark.slow
KEY = "lk-test-restart-0123456789abcdef"
UPSTREAM_KEY = "sk-restart-upstream-key"


def wait_for(check: Callable[[], Any], seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_dream_killed_mid_phase_resumes_after_the_restart(
        fresh_db_url: str, tmp_path: Path,
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(api_key=UPSTREAM_KEY)
    config = routing(upstream.url)
    config["upstreams"]["a"]["timeouts"]["read_seconds"] = 60  # the hang outlives the process
    (tmp_path / "routing.yml").write_text(yaml.safe_dump(config))
    env = {"LUKHAS_DATABASE_URL": fresh_db_url, "LUKHAS_API_KEYS": KEY,
           "LUKHAS_DATA_DIR": str(tmp_path / "data"), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_ROUTING_FILE": str(tmp_path / "routing.yml"), UPSTREAM_KEY_ENV: UPSTREAM_KEY,
           "LUKHAS_RATE_LIMITS_FILE": str(generous_limits(tmp_path)),
           "LUKHAS_DREAM_LEASE_SECONDS": "2"}
    auth = {"Authorization": f"Bearer {KEY}"}
    upstream.script({"behaviour": "hang", "times": 1},
                    {"behaviour": "reply", "times": 1,
                     "reply": "What if Anna sailed from Lisbon? [1]"})

    first = start_lukhas_serve(env, tmp_path / "first.log")
    try:
        with httpx.Client(base_url=first.base_url, headers=auth, timeout=30) as http:
            said = http.post("/v1/responses", json={
                "model": "lukhas-matriz", "input": "Anna lives in Lisbon and loves the sea."})
            assert said.status_code == 200, said.text
            created = http.post("/v1/dreams", json={"model": "gpt-test", "seed": "Anna"})
            assert created.status_code == 200, created.text
            dream_id = created.json()["id"]
            wait_for(lambda: upstream.requests("/v1/chat/completions"))
            assert http.get(f"/v1/dreams/{dream_id}").json()["status"] == "generating"
        first.stop(signal.SIGKILL)  # mid-phase, holding the dream's claim
    finally:
        first.stop()

    # From here on a lease outlives the test: only a dream given back is resumed in time.
    env["LUKHAS_DREAM_LEASE_SECONDS"] = "120"
    second = start_lukhas_serve(env, tmp_path / "second.log")
    try:
        with httpx.Client(base_url=second.base_url, headers=auth, timeout=30) as http:
            def ended() -> dict[str, Any] | None:
                got: dict[str, Any] = http.get(f"/v1/dreams/{dream_id}").json()
                return got if got["status"] in ("completed", "failed", "incomplete") else None

            done = wait_for(ended)
            assert done["status"] == "completed", done
            assert [s["text"] for s in done["scenarios"]] == [
                "What if Anna sailed from Lisbon? [1]"]
            assert len(upstream.requests("/v1/chat/completions")) == 2, "asked again once"
            trace = http.get(f"/v1/dreams/{dream_id}", params={"stream": "true"}).text
            for event in ("dream.gathering", "dream.memories", "dream.generating",
                          "dream.critiquing", "dream.completed"):
                assert trace.count(f"event: {event}\n") == 1, event

            upstream.script({"behaviour": "hang", "times": 1},
                            {"behaviour": "reply", "times": 1,
                             "reply": "What if the sea came to Lisbon? [1]"})
            second_id = http.post("/v1/dreams", json={"model": "gpt-test",
                                                      "seed": "Lisbon"}).json()["id"]
            wait_for(lambda: len(upstream.requests("/v1/chat/completions")) == 3)
    finally:
        assert second.stop(signal.SIGTERM) == 0, "a clean stop, the dream given back"

    third = start_lukhas_serve(env, tmp_path / "third.log")
    try:
        with httpx.Client(base_url=third.base_url, headers=auth, timeout=30) as http:
            def second_ended() -> dict[str, Any] | None:
                got: dict[str, Any] = http.get(f"/v1/dreams/{second_id}").json()
                return got if got["status"] == "completed" else None

            done = wait_for(second_ended, seconds=30)  # well inside the 120 s lease
            assert [s["text"] for s in done["scenarios"]] == [
                "What if the sea came to Lisbon? [1]"]
    finally:
        assert third.stop(signal.SIGTERM) == 0
