"""The pooled upstream clients: one per upstream, replaced on reload only when it changed."""

from __future__ import annotations

import pytest

from app.matriz.providers.upstream.clients import UpstreamClients
from app.routing.config import RoutingConfig


def _config(b_read: float, key_env: str = "LUKHAS_TEST_CLIENT_KEY") -> RoutingConfig:
    return RoutingConfig.model_validate({
        "upstreams": {
            "a": {"base_url": "http://127.0.0.1:1/v1", "api_key_env": key_env,
                  "pool": {"max_connections": 7, "max_keepalive": 3}},
            "b": {"base_url": "http://127.0.0.1:2/v1", "timeouts": {"read_seconds": b_read}},
        },
        "groups": {"g": {"context_window_tokens": 4096, "max_output_tokens": 100,
                         "deployments": [{"upstream": "a", "model": "m"}]}},
    }, strict=False)


async def test_a_reload_replaces_only_the_clients_whose_upstream_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUKHAS_TEST_CLIENT_KEY", "sk-from-env")
    clients = UpstreamClients()
    try:
        endpoints = clients.for_config(_config(10))
        assert str(endpoints["a"].url) == "http://127.0.0.1:1/v1/chat/completions"
        first = {name: e.client for name, e in endpoints.items()}
        assert first["a"].headers["authorization"] == "Bearer sk-from-env"
        assert "authorization" not in first["b"].headers
        assert first["b"].timeout.sock_read == 10
        second = {name: e.client for name, e in clients.for_config(_config(20)).items()}
        assert second["a"] is first["a"], "an unchanged upstream keeps its warm pool"
        assert second["b"] is not first["b"] and second["b"].timeout.sock_read == 20
        assert not first["b"].closed, "a replaced client lives on for requests in flight"
    finally:
        await clients.aclose()
    assert second["a"].closed and second["b"].closed and first["b"].closed
