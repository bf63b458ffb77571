"""A routed model while its routing file changes: the edit applies to the next request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import routed_app, routing


async def test_an_edited_file_moves_the_next_requests_to_the_new_upstream(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a, b = mock_upstream_factory(), mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url),
                          routing_reload_seconds=0.05) as app:
        first = await app.sdk.responses.create(model="gpt-test", input="before")
        assert first.output_text == "Echo: before"
        edited = routing(a.url)
        edited["upstreams"]["a"]["base_url"] = b.url
        staged = tmp_path / "routing.yml.new"
        staged.write_text(yaml.safe_dump(edited))
        staged.rename(tmp_path / "routing.yml")
        routing_state = app.state.routing
        for _ in range(200):  # a liveness bound (10 s), not a timing assertion
            if routing_state.config.upstreams["a"].base_url == b.url:
                break
            await asyncio.sleep(0.05)
        after = await app.sdk.responses.create(model="gpt-test", input="after")
        assert after.output_text == "Echo: after"
        assert (a.counts().get("/v1/chat/completions"), b.counts().get("/v1/chat/completions")) \
            == (1, 1)
