"""The one tokenizer that counts usage, for input and output alike (docs/tokenizer.md).

`lukhas-tok-v1`: a token is a run of at most four letters or digits, or one other
non-space character. English text comes out near OpenAI's ~4 characters a token, it needs
no vocabulary file (nothing to download), and the same text always counts the same.
"""

from __future__ import annotations

import re
from typing import Any

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


def token_pieces(text: str) -> list[str]:
    """`text` cut at its tokens: each piece is one token with the white space before it (the
    last also with the white space after it), so the pieces join back into `text`."""
    ends = [m.end() for m in _TOKEN.finditer(text)]
    if not ends:
        return [text] if text else []
    ends[-1] = len(text)
    starts = [0, *ends[:-1]]
    return [text[a:b] for a, b in zip(starts, ends, strict=True)]


def certain_logprobs(text: str, top: int) -> list[dict[str, Any]]:
    """The logprobs of a deterministic model's `text`: every token certain (logprob 0.0,
    its UTF-8 `bytes`), itself its one alternative when `top` > 0 (any other has none)."""
    out = []
    for piece in token_pieces(text):
        entry: dict[str, Any] = {"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}
        out.append({**entry, "top_logprobs": [entry] if top > 0 else []})
    return out
