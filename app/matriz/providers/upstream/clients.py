"""One pooled `aiohttp.ClientSession` per upstream, kept across requests and reloads.

aiohttp, not httpx: httpx's own pool spends a third of a busy gateway's time on its
bookkeeping (encode/httpx#3215) and its throughput falls past a few connections; httpx on
aiohttp's connector (`httpx-aiohttp`) fixes the pool but still builds httpx's request and
response models around aiohttp's, about 0.8 million CPU instructions per call
(`bench/gateway_instructions.py`, docs/routing.md). The session is called directly.

Created when the routing file is first loaded; on a reload only upstreams whose settings
changed get a new client (the others keep their warm keep-alive connections). A replaced
client is closed after a grace period, so requests that started under the old file finish
on it. HTTP/1.1 (what vLLM, Ollama and llama.cpp's server speak), no redirects, no proxy
variables from the environment. The key is read from the environment variable the file
names, once per client, and sent as `Authorization: Bearer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from app.routing.config import RoutingConfig, Upstream

log = logging.getLogger("lukhas.upstream")


def make_client(name: str, upstream: Upstream) -> aiohttp.ClientSession:
    """The pooled client of one upstream, from its settings in the routing file.

    Timeouts as httpx had them: `connect_seconds` to open a connection, `read_seconds`
    between two reads and to wait for a free connection of the pool; no total (the route's
    deadline is the total). `max_connections` bounds the pool; idle connections are kept
    `keepalive_seconds`.
    """
    headers = dict(upstream.headers)
    if upstream.api_key_env is not None:
        key = os.environ.get(upstream.api_key_env)
        if key:
            headers["authorization"] = f"Bearer {key}"
        else:
            log.error("upstream %s: environment variable %s is not set; calling it without a "
                      "key", name, upstream.api_key_env)
    t = upstream.timeouts
    pool = upstream.pool
    connector = aiohttp.TCPConnector(limit=pool.max_connections, limit_per_host=0,
                                     keepalive_timeout=pool.keepalive_seconds)
    return aiohttp.ClientSession(
        connector=connector, headers=headers,
        timeout=aiohttp.ClientTimeout(total=None, connect=t.read_seconds,
                                      sock_connect=t.connect_seconds, sock_read=t.read_seconds),
        trust_env=False, raise_for_status=False,
    )


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An upstream's client and the absolute URL it is called at (parsed once, not per call)."""

    client: aiohttp.ClientSession
    url: URL  # `{base_url}/chat/completions`, or `/responses` for `api: responses`


def _endpoint(upstream: Upstream, client: aiohttp.ClientSession) -> Endpoint:
    path = "chat/completions" if upstream.api == "chat_completions" else "responses"
    return Endpoint(client, URL(upstream.base_url.rstrip("/") + "/" + path))


class UpstreamClients:
    """The clients of the configuration in force; `for_config` follows reloads."""

    def __init__(self) -> None:
        self._config: RoutingConfig | None = None
        self._clients: dict[str, tuple[Upstream, aiohttp.ClientSession]] = {}
        self._view: dict[str, Endpoint] = {}
        self._retired: dict[aiohttp.ClientSession, asyncio.Task[None]] = {}

    def for_config(self, config: RoutingConfig) -> Mapping[str, Endpoint]:
        """Upstream name → its endpoint for `config` (the same mapping until the file
        changes)."""
        if config is not self._config:
            self._sync(config)
        return self._view

    def _sync(self, config: RoutingConfig) -> None:
        retired: list[aiohttp.ClientSession] = []
        clients: dict[str, tuple[Upstream, aiohttp.ClientSession]] = {}
        for name, upstream in config.upstreams.items():
            kept = self._clients.get(name)
            if kept is not None and kept[0] == upstream:
                clients[name] = kept
            else:
                clients[name] = (upstream, make_client(name, upstream))
                if kept is not None:
                    retired.append(kept[1])
        retired += [c for n, (_, c) in self._clients.items() if n not in clients]
        grace = 2 * (self._config.deadline_seconds if self._config else 0) + 5
        self._config, self._clients = config, clients
        self._view = {name: _endpoint(upstream, client)
                      for name, (upstream, client) in clients.items()}
        for client in retired:
            task = asyncio.get_running_loop().create_task(self._close_later(client, grace))
            self._retired[client] = task

    async def aclose(self) -> None:
        """Close every client (the lifespan's end)."""
        for client, task in list(self._retired.items()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()
        self._retired.clear()
        for _, client in self._clients.values():
            await client.close()
        self._clients, self._view, self._config = {}, {}, None

    async def _close_later(self, client: aiohttp.ClientSession, delay: float) -> None:
        await asyncio.sleep(delay)
        self._retired.pop(client, None)
        await client.close()
