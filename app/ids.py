"""Object ids with OpenAI's prefixes (`resp_`, `msg_`, `rs_`, `chatcmpl-`, ...)."""

from __future__ import annotations

import os
import secrets


def new_id(prefix: str) -> str:
    """A random id such as `resp_0f3c…` (24 random bytes, hex)."""
    return prefix + secrets.token_hex(24)


def new_ids(*prefixes: str) -> list[str]:
    """Several ids from one read of the random source."""
    raw = os.urandom(24 * len(prefixes)).hex()
    return [p + raw[48 * i : 48 * (i + 1)] for i, p in enumerate(prefixes)]
