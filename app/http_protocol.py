"""The HTTP/1.1 protocol `lukhas serve` runs: uvicorn's h11 one, with a deadline for headers.

h11 rather than httptools (uvicorn's default when it is installed) because h11 bounds what it
buffers of a request line and headers still incomplete (`h11_max_incomplete_event_size`; past
it the request is refused with a 400 and the connection closed); under httptools a client may
send headers without end. Neither of uvicorn's protocols has a header timeout: its keep-alive
timer stops at the first byte received, so a client trickling one header byte at a time holds
a connection for ever. This subclass gives every request, on a new connection or a kept-alive
one, the keep-alive timeout to complete its headers, then closes the connection.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

IMPORT_PATH = "app.http_protocol:H11WithHeaderDeadline"


class H11WithHeaderDeadline(H11Protocol):
    header_deadline: asyncio.TimerHandle | None = None

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self.header_deadline = self.loop.call_later(self.timeout_keep_alive, self._headers_late)

    def _cancel_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_late(self) -> None:
        self.header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        """Feed h11; once a request's headers are complete, its clock stops."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_deadline()

    def on_response_complete(self) -> None:
        """Start the clock for the next request's headers on this connection."""
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._cancel_header_deadline()
        super().connection_lost(exc)
