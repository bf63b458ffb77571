"""The service with a routing file pointing at mock upstreams, driven by the OpenAI SDK."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import yaml

from tests.utils.app import running_app

UPSTREAM_KEY_ENV = "LUKHAS_TEST_UPSTREAM_KEY"
# The key the `routed_server` fixture's upstream requires, set in UPSTREAM_KEY_ENV.
LIVE_UPSTREAM_KEY = "sk-live-upstream-key-0042"


def routing(a_url: str, b_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    """`gpt-test` on upstream a (model mock-gpt), falling back to `backup` on b (mock-mini)."""
    upstreams: dict[str, Any] = {
        "a": {"base_url": a_url, "api_key_env": UPSTREAM_KEY_ENV,
              "timeouts": {"connect_seconds": 1, "read_seconds": 2}},
    }
    groups: dict[str, Any] = {
        "gpt-test": {"context_window_tokens": 32000, "max_output_tokens": 1000,
                     "memory": {"recall": True, "max_tokens": 500},
                     "deployments": [{"upstream": "a", "model": "mock-gpt"}]},
    }
    data: dict[str, Any] = {
        "deadline_seconds": 10, "upstreams": upstreams, "groups": groups,
        "retries": {"count": 1, "backoff": {"base_seconds": 0.01, "cap_seconds": 0.05,
                                            "jitter": 0}},
        "cooldowns": {"failures": 2, "window_seconds": 60, "cooldown_seconds": 60},
    }
    if b_url is not None:
        upstreams["b"] = {"base_url": b_url,
                          "timeouts": {"connect_seconds": 1, "read_seconds": 2}}
        groups["backup"] = {"context_window_tokens": 32000, "max_output_tokens": 1000,
                            "deployments": [{"upstream": "b", "model": "mock-mini"}]}
        data["fallbacks"] = {"gpt-test": ["backup"]}
    data.update(overrides)
    return data


@dataclass
class Routed:
    http: httpx.AsyncClient  # raw HTTP as the caller; `.app` is the app
    sdk: openai.AsyncOpenAI  # the official SDK as the caller, no retries
    key: str

    @property
    def state(self) -> Any:
        return self.http.app.state.lukhas  # type: ignore[attr-defined]


@asynccontextmanager
async def routed_app(pg_url: str, tmp_path: Path, config: dict[str, Any],
                     **settings: Any) -> AsyncIterator[Routed]:
    """The app in-process with `config` as its routing file and a caller key of its own
    (so its long-term memory starts empty)."""
    path = tmp_path / "routing.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    key = "lk-test-up-" + secrets.token_hex(12)
    async with running_app(pg_url, tmp_path, key=key, api_keys=key, routing_file=path,
                           **settings) as http:
        transport = httpx.ASGITransport(app=http.app)  # type: ignore[attr-defined]
        async with httpx.AsyncClient(transport=transport) as sdk_http, openai.AsyncOpenAI(
                base_url="http://lukhas.test/v1", api_key=key, max_retries=0,
                http_client=sdk_http) as sdk:
            yield Routed(http, sdk, key)
