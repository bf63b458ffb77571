"""The generating phase with a routed model: the model writes the scenarios from the same
recalled memories the built-in model recombines, numbered so that it cites them as [n].

The call goes through the routing file's group like any other (its route, retries, deadline
and metrics), made for the dream's owner and tier. Each line of the answer that cites at
least one memory becomes a scenario citing those memories; a line citing none is dropped
(a scenario must say what it comes from), and so is a citation of a number not given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.dreams.imagine import scenario_id
from app.dreams.types import Constraints, Recalled, Scenario
from app.identity.base import Identity
from app.matriz.contract import RefusalDelta, TextDelta
from app.matriz.providers.base import ThoughtInput, ThoughtOutcome
from app.matriz.providers.upstream.errors import UpstreamError
from app.matriz.providers.upstream.provider import UpstreamProvider

INSTRUCTIONS = (
    "You dream for the user: you imagine 'what if' scenarios that recombine facts from "
    "their memories into something new. Use only the numbered memories you are given. "
    "Write one scenario per line, each starting with 'What if', and cite every memory a "
    "scenario draws on by its number in square brackets, as [1] or [2][5]. Write nothing "
    "else.")
_CITE = re.compile(r"\[(\d{1,4})\]")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,3}[.)])\s*")
MAX_SCENARIO_CHARS = 2000


def prompt(seed: str, memories: Sequence[Recalled], c: Constraints) -> str:
    """The question the model answers: the seed, the numbered memories and the constraints."""
    numbered = "\n".join(f"[{n}] {m.text}" for n, m in enumerate(memories, 1))
    wants = [f"Write at most {c.max_scenarios} scenarios."]
    if c.must_include:
        wants.append("Each must contain: " + ", ".join(f'"{t}"' for t in c.must_include) + ".")
    if c.must_exclude:
        wants.append("None may contain: " + ", ".join(f'"{t}"' for t in c.must_exclude) + ".")
    return f"Seed: {seed}\n\nMemories:\n{numbered}\n\n{' '.join(wants)}"


def parse(dream_id: str, answer: str, memories: Sequence[Recalled],
          limit: int) -> list[Scenario]:
    """The answer's lines as scenarios citing the memories they name, at most `limit`."""
    made: list[Scenario] = []
    for line in answer.splitlines():
        text = _BULLET.sub("", line).strip()
        cites = list(dict.fromkeys(memories[int(n) - 1].id for n in _CITE.findall(text)
                                   if 1 <= int(n) <= len(memories)))
        if not text or not cites:
            continue
        made.append(Scenario(scenario_id(dream_id, len(made)), text[:MAX_SCENARIO_CHARS],
                             cites))
        if len(made) == limit:
            break
    return made


async def write_scenarios(provider: UpstreamProvider, owner: str, tier: str, model: str,
                          dream_id: str, seed: str, memories: Sequence[Recalled],
                          c: Constraints) -> list[Scenario]:
    """One call to the routed group; its answer parsed into scenarios."""
    who = Identity(subject=owner, scopes=frozenset(), tier=tier, kind="dream")
    call = provider.begin(who, model, dream_id)
    call.stream = False
    events = provider.stream(ThoughtInput(model, INSTRUCTIONS, (), prompt(seed, memories, c),
                                          call), ThoughtOutcome())
    parts: list[str] = []
    try:
        async for event in events:
            if isinstance(event, RefusalDelta):
                raise UpstreamError(f"The upstream serving '{model}' refused to dream.")
            if isinstance(event, TextDelta):
                parts.append(event.text)
    finally:
        await events.aclose()
    return parse(dream_id, "".join(parts), memories, c.max_scenarios)
