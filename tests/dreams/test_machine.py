"""The dream's state machine: only the edges of its table, in the code and in the database."""

from __future__ import annotations

import asyncpg
import pytest

from app.dreams.machine import (
    PHASES,
    TERMINAL,
    TRANSITIONS,
    DreamStatus,
    IllegalTransition,
    advance,
    is_terminal,
    next_phase,
)

S = DreamStatus
PAIRS = [(a, b) for a in S for b in S if a is not b]


def test_the_way_to_completed_goes_through_every_phase_in_order() -> None:
    path, state = [S.QUEUED], S.QUEUED
    while not is_terminal(state):
        state = next_phase(state)
        path.append(state)
    assert path == [S.QUEUED, *PHASES, S.COMPLETED]


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_advance_follows_the_table_and_nothing_else(current: S, target: S) -> None:
    if target in TRANSITIONS[current]:
        assert advance(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            advance(current, target)


def test_the_edges_are_the_ones_the_design_names() -> None:
    assert TRANSITIONS[S.QUEUED] == {S.GATHERING, S.CANCELLED, S.FAILED}
    assert S.INCOMPLETE not in TRANSITIONS[S.QUEUED], "no budget is spent before it starts"
    for phase in PHASES:
        assert TRANSITIONS[phase] == {next_phase(phase), S.CANCELLED, S.FAILED, S.INCOMPLETE}
    for end in TERMINAL:
        assert TRANSITIONS[end] == frozenset(), f"{end} is final"
        with pytest.raises(IllegalTransition):
            next_phase(end)
    with pytest.raises(IllegalTransition):
        advance(S.GATHERING, S.GENERATING)  # no skipping a phase


async def test_the_database_holds_the_same_table(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            for current, target in PAIRS:
                await conn.execute(
                    "INSERT INTO dreams (id, owner, tier, model, seed, constraints, status)"
                    " VALUES ('dream_t', 'o', 'T2', 'm', 's', '{}', $1)", current.value)
                try:
                    async with conn.transaction():  # a savepoint: a refused update rolls back
                        await conn.execute("UPDATE dreams SET status = $1 WHERE id = 'dream_t'",
                                           target.value)
                    allowed = True
                except asyncpg.CheckViolationError as exc:
                    assert "illegal dream transition" in str(exc)
                    allowed = False
                assert allowed == (target in TRANSITIONS[current]), (current, target)
                await conn.execute("DELETE FROM dreams WHERE id = 'dream_t'")
        finally:
            await tx.rollback()
    finally:
        await conn.close()
