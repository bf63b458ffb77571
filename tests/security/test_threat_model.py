"""The threat model names real tests: every `file::function` it cites exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.security

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "docs" / "security" / "threat-model.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`|`::(test_\w+)`")


def test_every_cited_test_exists() -> None:
    text = MODEL.read_text()
    cited: list[tuple[str, str]] = []
    for line in text.splitlines():
        current: str | None = None  # `::name` alone refers to the last file on its line
        for match in CITED.finditer(line):
            if match[1]:
                current = match[1]
                cited.append((match[1], match[2]))
            else:
                assert current is not None, f"'::{match[3]}' names no file: {line[:80]}"
                cited.append((current, match[3]))
    assert len(cited) > 40
    missing = [f"{path}::{name}" for path, name in cited
               if not (ROOT / path).is_file()
               or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.M)]
    assert missing == [], missing
