"""Effects: Intent allows the requested kinds the caller's scopes permit, Action runs those
in the order they were requested, and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from app.core.effects import EffectKind
from app.identity.base import Identity
from app.matriz.contract import RunContext
from app.matriz.stages.action import ActionStage
from app.matriz.stages.intent import IntentStage, effect_scopes
from app.matriz.tick import CognitiveEvent, Tick
from app.observability.metrics import Metrics


@dataclass(frozen=True)
class Noted:
    """An effect that notes it ran."""

    kind: EffectKind
    ran: list[EffectKind]

    async def run(self) -> None:
        self.ran.append(self.kind)


def _ctx(*scopes: str) -> RunContext:
    who = Identity(subject="s", scopes=frozenset(scopes), tier="T2", kind="api_key")
    return RunContext(identity=who, model="m", question="q", history=[])


async def _run(ctx: RunContext) -> list[CognitiveEvent]:
    seen: list[CognitiveEvent] = []
    tick = Tick(Metrics(CollectorRegistry()), "dev", hz=30, buffer_size=4,
                engines=[seen.extend])
    await IntentStage().after(ctx)
    await ActionStage(tick).after(ctx)
    tick.run_once()
    return seen


async def test_only_the_allowed_effects_run_in_the_order_requested() -> None:
    ran: list[EffectKind] = []
    ctx = _ctx("chat")
    ctx.requested_effects += [Noted(kind, ran) for kind in (
        EffectKind.WRITE_MEMORY, EffectKind.WRITE_SESSION, EffectKind.STORE_RESPONSE)]
    [turn] = await _run(ctx)
    assert ran == [EffectKind.WRITE_SESSION]
    assert [e.kind for e in ctx.allowed_effects] == [EffectKind.WRITE_SESSION]
    assert not turn.wrote_memory


async def test_every_kind_runs_for_a_caller_with_the_scopes() -> None:
    ran: list[EffectKind] = []
    ctx = _ctx("responses.write", "memory.write")
    ctx.requested_effects += [Noted(kind, ran) for kind in reversed(EffectKind)]
    [turn] = await _run(ctx)
    assert ran == list(reversed(EffectKind))
    assert turn.wrote_memory and ctx.allowed(EffectKind.WRITE_MEMORY)


@pytest.mark.parametrize("kind", list(EffectKind))
def test_each_kind_needs_a_scope(kind: EffectKind) -> None:
    assert effect_scopes(kind), f"{kind} would be refused to everyone"


def test_the_kinds_keep_the_names_the_experience_log_stores() -> None:
    # Stored in experience events' payloads (docs/experience.md): a rename breaks them.
    assert [kind.value for kind in EffectKind] == [
        "store_response", "write_conversation", "write_session", "write_memory"]
