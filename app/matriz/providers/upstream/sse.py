"""An incremental parser of `text/event-stream` bodies: bytes in, complete `data` payloads out.

Only `data:` lines matter for chat completions (OpenAI sends no `event:` names there);
comments (`: ping`) and other fields are skipped. Lines end in LF or CRLF
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
"""

from __future__ import annotations


class SSEDecoder:
    """Feed it chunks as they arrive; it returns the events they complete."""

    __slots__ = ("_buf", "_data")

    def __init__(self) -> None:
        self._buf = b""
        self._data: bytes | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        """The `data` of every event that `chunk` completes, in order."""
        buf = self._buf + chunk if self._buf else chunk
        out: list[bytes] = []
        start = 0
        find = buf.find
        while (nl := find(b"\n", start)) >= 0:
            line = buf[start:nl]
            start = nl + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data is not None:
                    out.append(self._data)
                    self._data = None
            elif line.startswith(b"data:"):
                value = line[6:] if line.startswith(b"data: ") else line[5:]
                self._data = value if self._data is None else self._data + b"\n" + value
        self._buf = buf[start:]
        return out

    def close(self) -> list[bytes]:
        """An event left unterminated when the body ended (a server that skips the blank line)."""
        data, self._data = self._data, None
        return [] if data is None else [data]
