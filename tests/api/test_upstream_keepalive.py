"""Upstream connections are kept alive: many calls, one connection (a counting TCP relay
sits between the service and the mock upstream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import routed_app, routing


class Relay:
    """Forwards TCP connections to a target and counts them."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.connections = 0
        self.port = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Relay]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
            server.close()


async def test_many_calls_share_one_kept_alive_connection(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory()
    target = urlsplit(upstream.url)
    assert target.hostname is not None and target.port is not None
    async with Relay(target.hostname, target.port).running() as relay:
        url = f"http://127.0.0.1:{relay.port}/v1"
        async with routed_app(pg_url, tmp_path, routing(url)) as app:
            for i in range(5):
                done = await app.sdk.chat.completions.create(
                    model="gpt-test", messages=[{"role": "user", "content": f"call {i}"}])
                assert done.choices[0].message.content == f"Echo: call {i}"
            async with app.sdk.responses.stream(model="gpt-test", input="streamed") as stream:
                await stream.get_final_response()
        assert relay.connections == 1
