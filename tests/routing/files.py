"""Routing files for the tests: a small valid one to start from, as data and as YAML."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

TIERS = ("T1", "T2", "T3")
EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "routing.example.yml"

_BASE: dict[str, Any] = {
    "deadline_seconds": 45,
    "upstreams": {
        "a": {"base_url": "http://127.0.0.1:9001/v1", "api_key_env": "UPSTREAM_A_KEY"},
        "b": {"base_url": "http://127.0.0.1:9002/v1"},
        "c": {"base_url": "http://127.0.0.1:9003/v1", "api": "responses"},
    },
    "groups": {
        "chat": {"context_window_tokens": 32000, "max_output_tokens": 4096,
                 "tiers": ["T2", "T3"],
                 "deployments": [{"upstream": "a", "model": "m-a", "weight": 3},
                                 {"upstream": "b", "model": "m-b", "weight": 1}]},
        "big": {"context_window_tokens": 128000, "max_output_tokens": 8192,
                "deployments": [{"upstream": "c", "model": "m-c"}]},
        "small": {"context_window_tokens": 8000, "max_output_tokens": 1024,
                  "deployments": [{"upstream": "b", "model": "m-small"}]},
    },
    "aliases": {"chat-latest": "chat"},
    "fallbacks": {"chat": ["big"]},
    "retries": {"count": 1},
}


def base() -> dict[str, Any]:
    """A fresh copy of the small valid routing file, as parsed YAML."""
    return copy.deepcopy(_BASE)


def write(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` as a YAML routing file."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
