"""The HTTP/1.1 protocol `lukhas serve` runs: uvicorn's httptools one, with a header deadline
and a bound on header bytes.

httptools because it is the fast parser (bench/http_protocol.sh: h11, the one uvicorn bounds
headers with, serves about half the requests per second on the minimal endpoint), and uvicorn
under httptools has neither guard, so this subclass adds them:

- a deadline: after a connection opens, and after each response, the client has the
  keep-alive timeout to finish what it was sending and complete the next request's headers;
  otherwise the connection is closed. (uvicorn's keep-alive timer stops at the first byte, so
  one header byte at a time would hold a connection for ever, as would the endless rest of a
  body refused with a 413.)
- a bound: at most `LUKHAS_MAX_HEADER_BYTES` received before a request's headers are complete
  (else 400 and closed), so headers without end are not buffered without end. Headers that
  complete are measured exactly by app/middleware/header_limit.py (431).

A request that upgrades to a WebSocket hands the connection to uvicorn's WebSocket protocol,
whose pings bound it from then on; the deadline stops there.

And one write a response where uvicorn makes two: it writes a response's status line and
headers as soon as the app sends them, and its body apart, a system call each. A request's
writes go through `_Corked`, which joins what one turn of the event loop writes (the
headers and the body that follows them at once) into one write at the end of the turn.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from app.settings import Settings

IMPORT_PATH = "app.http_protocol:GuardedHttpToolsProtocol"
HEADERS_TOO_LARGE = "Request headers are too large."


@functools.cache
def max_header_bytes() -> int:
    """The bound, from the settings `lukhas serve` puts in its (and its workers') environment;
    uvicorn builds the protocol itself, with nothing of ours but the import path."""
    return Settings().max_header_bytes


# Bytes held before they go out at once, so that a response written without a pause (a
# long stream sent in one turn of the loop) still reaches the transport, whose flow control
# then pauses the writer, rather than piling up here.
_CORK_BYTES = 64 * 1024


class _Corked:
    """A connection's transport whose writes within one turn of the event loop go out as one
    (in order, at the end of the turn, or before the connection is closed, or once
    `_CORK_BYTES` are held)."""

    __slots__ = ("_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._held += len(data)
        if self._held >= _CORK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._held = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.corked: _Corked | None = None
        self.max_header_bytes = max_header_bytes()
        self.deadline: asyncio.TimerHandle | None = None
        self.waiting_on: RequestResponseCycle | None = None  # the cycle before the awaited one
        self.received_since = 0  # bytes received while waiting for the next headers

    def _arm(self) -> None:
        self._disarm()
        self.waiting_on = self.cycle
        self.received_since = 0
        self.deadline = self.loop.call_later(self.timeout_keep_alive, self._late)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _late(self) -> None:
        self.deadline = None
        if self.cycle is self.waiting_on and not self.transport.is_closing():
            self.transport.close()

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self.corked = _Corked(transport, self.loop)
        self._arm()

    def on_headers_complete(self) -> None:
        """A new request: its response is written through the connection's `_Corked` (its
        task starts on the loop's next turn, after this)."""
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport and self.corked is not None:
            cycle.transport = self.corked  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """Parse; stop the clock once new headers are complete, and bound the bytes before."""
        super().data_received(data)
        if self.deadline is None or self.transport.is_closing():
            return
        if self.cycle is not self.waiting_on:  # a new request's headers are complete
            self._disarm()
            return
        if self.cycle is not None and self.cycle.more_body:
            return  # the rest of a body already answered (a 413): only the clock bounds it
        self.received_since += len(data)
        if self.received_since > self.max_header_bytes:
            self.logger.warning(HEADERS_TOO_LARGE)
            self.send_400_response(HEADERS_TOO_LARGE)

    def send_400_response(self, msg: str) -> None:
        """What a request's response wrote goes first."""
        if self.corked is not None:
            self.corked.flush()
        super().send_400_response(msg)

    def handle_websocket_upgrade(self) -> None:
        """Stop the clock: the connection is the WebSocket protocol's now."""
        self._disarm()
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        """Start the clock for the next request, unless one is already under way."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle.response_complete:
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)
