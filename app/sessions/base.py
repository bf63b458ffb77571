"""Sessions: a caller's working memory, the recent turns the Memory stage reads first.

Keyed by (subject, session id); bounded in turns and bytes (the oldest turns go first);
expiring after `ttl` of inactivity (every write or touch slides it). Two backends keep one
contract: Redis (`LUKHAS_REDIS_URL`) and in-process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import orjson

from app.core.turns import Turn, turn_from_record, turn_record

SESSION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_turns: int = 50
    max_bytes: int = 64 * 1024
    ttl_seconds: float = 3600.0


class SessionStore(Protocol):
    async def get(self, subject: str, session_id: str) -> list[Turn] | None:
        """The session's turns, oldest first; None if there is no live session."""
        ...

    async def put(self, subject: str, session_id: str, turns: list[Turn]) -> None:
        """Replace the session's turns (trimmed to the limits); slides the TTL."""
        ...

    async def append(self, subject: str, session_id: str, turns: list[Turn]) -> None:
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


def trim(turns: list[Turn], limits: SessionLimits) -> list[Turn]:
    """The newest turns that fit both the count and the byte bound."""
    kept: list[Turn] = []
    size = 0
    for turn in reversed(turns[-limits.max_turns:]):
        size += len(encode(turn))
        if size > limits.max_bytes:
            break
        kept.append(turn)
    kept.reverse()
    return kept


def encode(turn: Turn) -> bytes:
    """The stored form of a turn (`app.core.turns.turn_record`, as JSON)."""
    return orjson.dumps(turn_record(turn))


def decode(raw: bytes | str) -> Turn:
    """A turn from its stored form (turns stored before `at` and `file` have neither)."""
    return turn_from_record(orjson.loads(raw))
