"""Object ids with OpenAI's prefixes (`resp_`, `msg_`, `rs_`, `chatcmpl-`, ...)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A random id such as `resp_0f3c…` (24 random bytes, hex)."""
    return prefix + secrets.token_hex(24)
