"""Object ids with OpenAI's prefixes (`resp_`, `msg_`, `rs_`, `chatcmpl-`, ...).

Their random part comes from the operating system's source (`os.urandom`), read 4 KiB at a
time: a read is a system call, and a request makes several ids. A forked child starts from
a read of its own, so no two processes ever hand out the same bytes.
"""

from __future__ import annotations

import os
import threading
import time

_READ = 4096


class _RandomBytes:
    __slots__ = ("_at", "_buffer", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def take(self, n: int) -> bytes:
        with self._lock:
            if self._at + n > len(self._buffer):
                self._buffer, self._at = os.urandom(max(_READ, n)), 0
            out = self._buffer[self._at:self._at + n]
            self._at += n
        return out

    def forget(self) -> None:
        """Drop what is read (in a forked child, which must not reuse its parent's bytes)."""
        self._lock = threading.Lock()
        self._buffer, self._at = b"", 0


_random = _RandomBytes()
os.register_at_fork(after_in_child=_random.forget)


def random_hex(n: int) -> str:
    """`n` random bytes from the OS's source, as hex."""
    return _random.take(n).hex()


def new_id(prefix: str) -> str:
    """A random id such as `resp_0f3c…` (24 random bytes, hex)."""
    return prefix + random_hex(24)


def new_ids(*prefixes: str) -> list[str]:
    """Several ids at once."""
    raw = _random.take(24 * len(prefixes)).hex()
    return [p + raw[48 * i : 48 * (i + 1)] for i, p in enumerate(prefixes)]


def ordered_ids(prefix: str, n: int) -> list[str]:
    """`n` ids that sort in the order given, and after ids made earlier (time, then random)."""
    base = time.time_ns()
    tails = _random.take(16 * n).hex()
    return [f"{prefix}{base + i:016x}{tails[32 * i : 32 * (i + 1)]}" for i in range(n)]
