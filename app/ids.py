"""Object ids with OpenAI's prefixes (`resp_`, `msg_`, `rs_`, `chatcmpl-`, ...)."""

from __future__ import annotations

import os
import secrets
import time


def new_id(prefix: str) -> str:
    """A random id such as `resp_0f3c…` (24 random bytes, hex)."""
    return prefix + secrets.token_hex(24)


def new_ids(*prefixes: str) -> list[str]:
    """Several ids from one read of the random source."""
    raw = os.urandom(24 * len(prefixes)).hex()
    return [p + raw[48 * i : 48 * (i + 1)] for i, p in enumerate(prefixes)]


def ordered_ids(prefix: str, n: int) -> list[str]:
    """`n` ids that sort in the order given, and after ids made earlier (time, then random)."""
    base = time.time_ns()
    tails = os.urandom(16 * n).hex()
    return [f"{prefix}{base + i:016x}{tails[32 * i : 32 * (i + 1)]}" for i in range(n)]
