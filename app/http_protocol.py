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


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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
        self._arm()

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
