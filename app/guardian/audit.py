"""Checking the audit chain: every record's hash recomputed from its fields, every link to
the record before it, and the head against the last record.

The canonical text is computed here independently of the SQL that appends (migration 0009
defines the same form): a database whose functions were replaced still cannot pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.db.repositories import audit as repo

GENESIS = "0" * 64
_BATCH = 1000


def _field(value: str | None) -> str:
    return "-" if value is None else f"{len(value)}:{value}"


def record_hash(prev_hash: str, record_id: int, at_text: str, actor: str, action: str,
                subject: str | None, details_text: str) -> str:
    """The SHA-256 of a record's canonical text (see migrations/0009_audit_chain.sql)."""
    text = "\n".join(_field(v) for v in (prev_hash, str(record_id), at_text, actor, action,
                                         subject, details_text))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    records: int
    head_id: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_rows(rows: Sequence[Any], prev_hash: str) -> tuple[list[str], str]:
    """The problems in consecutive `rows` following a record whose hash is `prev_hash`."""
    problems = []
    for row in rows:
        if row["prev_hash"] != prev_hash:
            problems.append(f"record {row['id']}: the record before it is missing or was "
                            "changed (its link does not match)")
        expected = record_hash(row["prev_hash"], row["id"], row["at_text"], row["actor"],
                               row["action"], row["subject"], row["details_text"])
        if row["hash"] != expected:
            problems.append(f"record {row['id']}: its content does not match its hash")
        prev_hash = row["hash"]
    return problems, prev_hash


async def verify(conn: Any, *, max_problems: int = 100) -> ChainReport:
    """Walk the whole chain, oldest first, in batches."""
    head_id, head_hash = await repo.head(conn)
    problems: list[str] = []
    prev, after, count = GENESIS, 0, 0
    while True:
        rows = await repo.chain(conn, after, _BATCH)
        if not rows:
            break
        found, prev = check_rows(rows, prev)
        problems.extend(found)
        count += len(rows)
        after = rows[-1]["id"]
        if len(problems) >= max_problems:
            break
    if len(problems) < max_problems and (after, prev) != (head_id, head_hash):
        problems.append(f"the chain ends at record {after}, its head says {head_id}: records"
                        " at its end were removed or the head was changed")
    return ChainReport(count, head_id, tuple(problems[:max_problems]))
