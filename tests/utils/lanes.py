"""A lane policy file for a test: the shipped one with some fields of one lane changed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

LANES = Path(__file__).resolve().parents[2] / "configs" / "runtime" / "lanes.yaml"


def lanes_file(directory: Path, lane: str = "dev", **fields: Any) -> Path:
    """configs/runtime/lanes.yaml with `fields` of `lane` replaced, written in `directory`."""
    lanes = yaml.safe_load(LANES.read_text())
    lanes["lanes"][lane].update(fields)
    text = yaml.safe_dump(lanes)
    path = directory / f"lanes-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    path.write_text(text)
    return path
