"""The one tokenizer that counts usage, for input and output alike (docs/tokenizer.md).

`lukhas-tok-v1`: a token is a run of at most four letters or digits, or one other
non-space character. English text comes out near OpenAI's ~4 characters a token, it needs
no vocabulary file (nothing to download), and the same text always counts the same.
"""

from __future__ import annotations

import re

TOKENIZER_NAME = "lukhas-tok-v1"
_TOKEN = re.compile(r"\w{1,4}|[^\w\s]")


def count_tokens(text: str) -> int:
    """Number of `lukhas-tok-v1` tokens in `text`."""
    return len(_TOKEN.findall(text))


def truncate_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of `text` holding at most `limit` tokens."""
    if limit <= 0:
        return ""
    for i, match in enumerate(_TOKEN.finditer(text), start=1):
        if i == limit:
            return text[: match.end()]
    return text
