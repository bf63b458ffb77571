"""Sessions: a caller's working memory, the recent turns the Memory stage reads first.

Keyed by (subject, session id); bounded in turns and bytes (the oldest turns go first);
expiring after `ttl` of inactivity (every write or touch slides it). Two backends keep one
contract: Redis (`LUKHAS_REDIS_URL`) and in-process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

SESSION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class SessionTurn:
    role: str
    text: str
    source: str
    parts: tuple[dict[str, Any], ...] = ()  # images and files with the text (`Turn.parts`)
    at: float | None = None  # when it was said (Unix seconds)
    file: str | None = None  # the attached file's name, when the text is a file's


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_turns: int = 50
    max_bytes: int = 64 * 1024
    ttl_seconds: float = 3600.0


class SessionStore(Protocol):
    async def get(self, subject: str, session_id: str) -> list[SessionTurn] | None:
        """The session's turns, oldest first; None if there is no live session."""
        ...

    async def put(self, subject: str, session_id: str, turns: list[SessionTurn]) -> None:
        """Replace the session's turns (trimmed to the limits); slides the TTL."""
        ...

    async def append(self, subject: str, session_id: str, turns: list[SessionTurn]) -> None:
        """Add turns atomically (concurrent appends lose none); trims; slides the TTL."""
        ...

    async def touch(self, subject: str, session_id: str) -> bool:
        """Slide the TTL; False if there is no live session."""
        ...

    async def delete(self, subject: str, session_id: str) -> bool:
        """Remove the session; False if there was none."""
        ...

    async def erase_subject(self, subject: str) -> int:
        """Delete every session of `subject`; return how many."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def trim(turns: list[SessionTurn], limits: SessionLimits) -> list[SessionTurn]:
    """The newest turns that fit both the count and the byte bound."""
    kept: list[SessionTurn] = []
    size = 0
    for turn in reversed(turns[-limits.max_turns:]):
        size += len(encode(turn))
        if size > limits.max_bytes:
            break
        kept.append(turn)
    kept.reverse()
    return kept


def encode(turn: SessionTurn) -> bytes:
    """The stored form of a turn (JSON; `parts`, `at` and `file` only when set)."""
    data: dict[str, Any] = {"role": turn.role, "text": turn.text, "source": turn.source}
    if turn.parts:
        data["parts"] = turn.parts
    if turn.at is not None:
        data["at"] = turn.at
    if turn.file is not None:
        data["file"] = turn.file
    return orjson.dumps(data)


def decode(raw: bytes | str) -> SessionTurn:
    """A turn from its stored form (turns stored before `at` and `file` have neither)."""
    data = orjson.loads(raw)
    return SessionTurn(data["role"], data["text"], data["source"],
                       tuple(data.get("parts") or ()), data.get("at"), data.get("file"))
