"""The admin routing preview: the route a request would take, through the runtime's `pick()`.

Nothing is recomputed here: the configuration in force (taken once, as a request takes it),
the live cooldown snapshot when the service tracks upstream failures, and the very `pick()`
the runtime calls. Its errors are the runtime's: 404 `model_not_found` for a model that does
not exist or that the tier may not use, 503 `model_unavailable` when every deployment cools.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from app.api.admin.protocol import PlannedAttempt, RoutingPreview, RoutingPreviewRequest
from app.core.cards import ModelCard
from app.errors import InvalidRequest, NotFound
from app.identity.base import Identity
from app.routing.cooldown import CooldownSnapshot, CooldownTracker
from app.routing.pick import Caller, Route, pick
from app.routing.reload import RoutingReloader


class RoutingPreviewService:
    """Previews routes against the running configuration and cooldowns."""

    def __init__(self, routing: RoutingReloader | None, builtin: Sequence[ModelCard],
                 tiers: Collection[str]) -> None:
        self._routing = routing
        self._builtin = {card.id for card in builtin}
        self._tiers = tiers

    def preview(self, body: RoutingPreviewRequest, caller: Identity,
                cooldowns: CooldownTracker | None) -> RoutingPreview:
        """The route for `body.subject` of `body.tier` (default: the caller's tier).

        `cooldowns` is the tracker the upstream calls report failures to, when there is one.
        """
        tier = body.tier if body.tier is not None else caller.tier
        if tier not in self._tiers:
            raise InvalidRequest(f"Unknown tier '{tier}'; the tiers are "
                                 f"{', '.join(sorted(self._tiers))}.", param="tier",
                                 code="invalid_value")
        if body.model in self._builtin:
            raise InvalidRequest(f"'{body.model}' is a built-in model, answered in-process: "
                                 "it has no upstream route.", param="model",
                                 code="model_not_routed")
        if self._routing is None:
            raise NotFound(f"The model '{body.model}' does not exist or you do not have access "
                           "to it (no routing file is configured).", param="model",
                           code="model_not_found")
        snapshot = cooldowns.snapshot() if cooldowns is not None else CooldownSnapshot()
        route = pick(self._routing.config, body.model, Caller(body.subject, tier), snapshot,
                     request_id=body.request_id)
        return _preview(route, body, tier)


def _preview(route: Route, body: RoutingPreviewRequest, tier: str) -> RoutingPreview:
    return RoutingPreview(
        model=route.model, group=route.group, bucket=route.bucket, subject=body.subject,
        tier=tier, request_id=body.request_id, deadline_seconds=route.deadline_seconds,
        plan=[PlannedAttempt(deployment=a.deployment, upstream=a.upstream, model=a.model,
                             group=a.group, fallback=a.fallback, retry=a.retry)
              for a in route.plan],
        cooling=list(route.cooling),
    )
