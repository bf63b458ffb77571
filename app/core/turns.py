"""A conversation turn: one shape for the pipeline, working memory and long-term memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RECALLED = "memory "  # the source label of a recalled turn: "memory <document id>"


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the conversation, or the text of a file the user attached."""

    role: str  # "user" | "assistant" | "system" | "developer"
    text: str
    source: str  # citation label for this turn, e.g. "resp_8f3a…/input 1" or "input 2"
    # The message's content parts in the chat shape (`text`, `image_url`, `file`) when it
    # carries images or files, so a routed model gets them in this turn; () for text alone.
    parts: tuple[dict[str, Any], ...] = ()
    # When it was said (Unix seconds); None for a turn given in this request, which is newer
    # than any stored one.
    at: float | None = None
    file: str | None = None  # the file's name, when the text is an attached file's


def is_recalled(turn: Turn) -> bool:
    """Whether `turn` came from long-term memory rather than this conversation."""
    return turn.source.startswith(RECALLED)
