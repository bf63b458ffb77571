"""docs/quickstart.md: its curl, Python and Node examples run as written against a live
server (only the address changes: the test server listens on a free port)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import KEY_A

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"
NODE_DIR = ROOT / "tests" / "node"


def _block(lang: str) -> str:
    (block,) = re.findall(rf"```{lang}\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
    return block


def _run(argv: list[str], base_url: str, cwd: Path = ROOT) -> str:
    env = {**os.environ, "LUKHAS_API_KEY": KEY_A}
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_curl(base_url: str) -> None:
    script = _block("bash").replace("http://127.0.0.1:8000", base_url)
    out = _run(["bash", "-euo", "pipefail", "-c", script], base_url)
    assert "teal" in out
    assert "x-ratelimit-remaining-requests" in out.lower()


def test_python(base_url: str) -> None:
    script = _block("python").replace("http://127.0.0.1:8000", base_url)
    out = _run([sys.executable, "-c", script], base_url)
    lines = out.splitlines()
    assert "47" in lines[0]
    assert "Grace" in lines[1]
    assert "lukhas-matriz" in lines[2]
    assert lines[3] == "NotFoundError 404"


@pytest.mark.node
def test_node(base_url: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the Node SDK tests"
    script = NODE_DIR / f".quickstart-{uuid.uuid4().hex}.mjs"
    script.write_text(_block("javascript").replace("http://127.0.0.1:8000", base_url))
    try:
        out = _run([node, script.name], base_url, cwd=NODE_DIR)
    finally:
        script.unlink()
    first, second = out.splitlines()[:2]
    assert "42" in first and "3" in second
