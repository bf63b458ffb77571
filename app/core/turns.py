"""A conversation turn: one shape for the pipeline, working memory and long-term memory."""

from __future__ import annotations

from collections.abc import Mapping
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


def turn_record(turn: Turn) -> dict[str, Any]:
    """The stored form of a turn (a session's in Redis, a response's in PostgreSQL): JSON
    with `parts`, `at` and `file` only when set."""
    data: dict[str, Any] = {"role": turn.role, "text": turn.text, "source": turn.source}
    if turn.parts:
        data["parts"] = list(turn.parts)
    if turn.at is not None:
        data["at"] = turn.at
    if turn.file is not None:
        data["file"] = turn.file
    return data


def turn_from_record(data: Mapping[str, Any]) -> Turn:
    """A turn from its stored form (turns stored before `at` and `file` have neither)."""
    return Turn(data["role"], data["text"], data["source"], tuple(data.get("parts") or ()),
                data.get("at"), data.get("file"))
