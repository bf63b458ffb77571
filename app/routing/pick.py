"""The pick: a pure function of (config, model, caller, cooldowns, request id) → a Route.

The runtime and `lukhas routes preview` call this same function, so a preview shows what a
request will do. Nothing here reads a clock, a global or a random source:

- the A/B bucket comes from sha256(salt, subject) only, so a caller stays in one bucket for as
  long as the salt stays;
- the order of a group's deployments is a weighted shuffle (Efraimidis–Spirakis: each
  deployment draws u in (0, 1) and the largest u^(1/weight) goes first) whose draws are
  sha256(subject, request id, group, deployment), so each request spreads by weight and
  replaying one gives the same order.

The plan tries the chosen group (or bucket), then, if a bucket replaced it, the requested group
itself, then its fallbacks breadth first (the listed ones in order, then theirs). Each group
gets `1 + retries.count` attempts, cycling through its deployments, with cooling ones left out
and ones an earlier group already tried only when nothing else is left. Docs: docs/routing.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.routing.config import Deployment, Experiment, Group, RoutingConfig
from app.routing.cooldown import CooldownSnapshot
from app.routing.errors import AllCoolingDown, ModelNotFound, TierNotAllowed


@dataclass(frozen=True, slots=True)
class Caller:
    subject: str  # the API key's or ΛiD's stable subject: what A/B buckets are drawn from
    tier: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to make: a deployment of a group, in plan order."""

    deployment: str  # `upstream/model`: the cooldown key
    upstream: str
    model: str  # the upstream's own model name, sent in its request
    group: str  # the group this attempt serves from
    fallback: int  # 0: the group first chosen; n: the n-th group after it
    retry: int  # times this deployment was tried earlier in the plan (back off when > 0)


@dataclass(frozen=True, slots=True)
class Route:
    model: str  # as the caller named it
    group: str  # the public group it resolves to: its limits, tiers and owner apply
    bucket: str | None  # the A/B bucket, when the group is split
    plan: tuple[Attempt, ...]
    deadline_seconds: float  # for the whole request, across every attempt
    cooling: tuple[str, ...]  # deployments left out of the plan because they are cooling

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as `lukhas routes preview --json` prints it."""
        return asdict(self)


def pick(config: RoutingConfig, model: str, caller: Caller, cooldowns: CooldownSnapshot, *,
         request_id: str, tried: Collection[str] = ()) -> Route:
    """The route of one request; ModelNotFound, TierNotAllowed or AllCoolingDown otherwise.

    `tried` holds deployments this request already called: a re-pick puts them last in their
    group, so a retry prefers a deployment it has not tried.
    """
    name = config.group_of(model)
    if name is None:
        raise ModelNotFound(model)
    group = config.groups[name]
    if not _allows(group, caller.tier):
        raise TierNotAllowed(model, caller.tier)
    bucket, first, replaced = _first_choice(config, name, caller.subject)
    plan: list[Attempt] = []
    cooling: list[str] = []
    retries: dict[str, int] = {}
    chain = _chain(config, name, first, replaced, caller.tier)
    for index, (label, deployments) in enumerate(chain):
        ready = [d for d in deployments if not cooldowns.is_cooling(d.id)]
        cooling += [d.id for d in deployments if cooldowns.is_cooling(d.id)]
        # A deployment an earlier group already tried comes back only when nothing else can.
        ready = [d for d in ready if d.id not in retries] or ready
        order = _ordered(ready, (caller.subject, request_id, label), tried)
        for i in range(1 + config.retries.count if order else 0):
            deployment = order[i % len(order)]
            plan.append(Attempt(deployment.id, deployment.upstream, deployment.model, label,
                                index, retries.get(deployment.id, 0)))
            retries[deployment.id] = retries.get(deployment.id, 0) + 1
    cooling = list(dict.fromkeys(cooling))
    if not plan:
        raise AllCoolingDown(model, min((cooldowns.remaining(d) for d in cooling), default=0.0))
    return Route(model, name, bucket, tuple(plan), config.deadline_seconds, tuple(cooling))


def ab_bucket(experiment: Experiment, subject: str) -> str:
    """The bucket `subject` lands in: sha256(salt, subject) mod 10,000 against the shares."""
    point = _draw(experiment.salt, subject) % 10_000
    edge = 0
    for name, bucket in experiment.buckets.items():
        edge += round(bucket.percent * 100)
        if point < edge:
            return name
    return name  # shares add up to 100 (checked on load): only rounding lands here


def _allows(group: Group, tier: str) -> bool:
    return group.tiers is None or tier in group.tiers


def _first_choice(config: RoutingConfig, name: str,
                  subject: str) -> tuple[str | None, tuple[str, Sequence[Deployment]], bool]:
    """The bucket, the first group (label, deployments) and whether a bucket replaced it."""
    experiment = config.ab.get(name)
    if experiment is None:
        return None, (name, config.groups[name].deployments), False
    bucket_name = ab_bucket(experiment, subject)
    bucket = experiment.buckets[bucket_name]
    if bucket.group is not None:
        return (bucket_name, (bucket.group, config.groups[bucket.group].deployments),
                bucket.group != name)
    assert bucket.deployment is not None  # one of the two (checked on load)
    target = bucket.deployment
    return bucket_name, (name, (Deployment(upstream=target.upstream, model=target.model),)), True


def _chain(config: RoutingConfig, name: str, first: tuple[str, Sequence[Deployment]],
           replaced: bool, tier: str) -> Iterator[tuple[str, Sequence[Deployment]]]:
    """The groups to try in order: the first choice, the split group, its fallbacks."""
    yield first
    # A bucket that replaced the group falls back to the group itself, then to its fallbacks.
    seen = set() if replaced and first[0] == name else {first[0]}
    queue = [name] if replaced else [*config.fallbacks.get(name, ())]
    while queue:
        group_name = queue.pop(0)
        if group_name in seen:
            continue
        seen.add(group_name)
        group = config.groups[group_name]
        if _allows(group, tier):  # a fallback never serves a tier its group refuses
            yield group_name, group.deployments
        queue += config.fallbacks.get(group_name, ())


def _ordered(deployments: Sequence[Deployment], seed: tuple[str, ...],
             tried: Collection[str]) -> list[Deployment]:
    def key(d: Deployment) -> tuple[bool, float, str]:
        u = (_draw(*seed, d.id) + 1) / (2**64 + 1)  # in (0, 1)
        return d.id in tried, -math.log(u) / d.weight, d.id

    return sorted(deployments, key=key)


def _draw(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")
