"""The image, built and run under podman (deploy/container/build.sh): it starts on its
embedded defaults as a non-root user, its HEALTHCHECK passes, and the README's first calls
work against it. Measures build time, size and start-to-ready time (printed with -s)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.utils.server import free_port

pytestmark = [pytest.mark.container, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
TAG = "lukhas-facade:test"
KEY = "lk-test-container-0123456789abcdef"
ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "deploy" / "container" / "containers.conf")}


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    assert shutil.which("podman"), "podman is missing: apt-get install podman runc"
    result = subprocess.run([str(ROOT / "deploy" / "container" / "build.sh"), TAG], cwd=ROOT,
                            env=ENV, capture_output=True, text=True, timeout=1500, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.stderr.write(result.stdout)
    return TAG


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[tuple[str, str]]:
    """The running container: its base URL and its name."""
    port = free_port()
    started = time.perf_counter()
    run = _podman("run", "-d", "--network", "host", "-e", f"LUKHAS_PORT={port}",
                  "-e", f"LUKHAS_API_KEYS={KEY}", "-e", "LUKHAS_HOST=127.0.0.1", image)
    assert run.returncode == 0, run.stderr
    name = run.stdout.strip()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        else:
            pytest.fail("not ready in 180 s:\n" + _podman("logs", name).stderr[-3000:])
        sys.stderr.write(f"start to ready: {time.perf_counter() - started:.1f} s\n")
        yield base, name
    finally:
        _podman("rm", "-f", name)


def test_runs_as_non_root_with_a_passing_healthcheck(container: tuple[str, str],
                                                     image: str) -> None:
    _, name = container
    assert _podman("exec", name, "id", "-u").stdout.strip() == "10001"
    check = _podman("healthcheck", "run", name)
    assert check.returncode == 0, check.stdout + check.stderr
    inspect = _podman("image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}}",
                      image)
    assert inspect.stdout.startswith("10001:10001 [lukhas")
    # No compilers in the shipped image.
    assert _podman("exec", name, "sh", "-c", "command -v gcc cc").stdout.strip() == ""


def test_the_readme_first_calls_work(container: tuple[str, str]) -> None:
    base, _ = container
    with openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0) as client:
        assert "lukhas-matriz" in {m.id for m in client.models.list()}
        assert "4" in client.responses.create(model="lukhas-matriz",
                                              input="What is 2+2?").output_text
        with client.responses.stream(model="lukhas-matriz", input="Compute (17*3)-4") as s:
            final = s.get_final_response()
        assert "47" in final.output_text
        chat = client.chat.completions.create(
            model="lukhas-matriz", messages=[{"role": "user", "content": "What is 6*7?"}])
        assert "42" in (chat.choices[0].message.content or "")
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
