"""The README's curl and Python examples work exactly as written against a live server.

Only the address changes (the test server listens on a free port, not 8000).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import KEY_A

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_commands() -> None:
    first = _blocks("sh")[0].strip().splitlines()
    assert [line.split()[:2] for line in first] == [["make", "run"], ["make", "test"]]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def _run(cmd: list[str], script: str, base_url: str) -> str:
    script = script.replace("http://127.0.0.1:8000", base_url)
    env = {**os.environ, "LUKHAS_API_KEY": KEY_A}
    done = subprocess.run([*cmd, script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_curl_examples(base_url: str) -> None:
    (block,) = _blocks("bash")
    out = _run(["bash", "-euo", "pipefail", "-c"], block, base_url)
    assert '"lukhas-matriz"' in out
    assert "event: response.completed" in out
    assert "47" in out and "42" in out


def test_python_example(base_url: str) -> None:
    (block,) = _blocks("python")
    out = _run([sys.executable, "-c"], block, base_url)
    assert "Ada Lovelace" in out
    assert "You are Ada Lovelace." in out, "the compacted window still recalls"
    assert "4" in out
    assert "zero" in out.lower()
    assert "384" in out.split()
