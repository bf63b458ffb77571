"""What a service prepares for one upstream request, and what the provider reports back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.matriz.providers.upstream.clients import Endpoint
from app.routing.config import Group, RoutingConfig
from app.routing.pick import Route


@dataclass(slots=True)
class UpstreamCall:
    """One request to a routed group: its route and the chat-completions parameters."""

    config: RoutingConfig  # the file in force when the request started, kept to its end
    route: Route
    group: Group
    endpoints: Mapping[str, Endpoint]  # the clients of `config`'s upstreams, by name
    started: float  # the event loop's clock when the request began: the deadline counts from it
    # Everything the upstream's body carries except `model`, `messages` and `stream`.
    params: dict[str, Any] = field(default_factory=dict)
    # Whether the caller streams: a chat upstream answers a caller who does not in one body
    # (one read instead of a wake-up per chunk; nothing is sent before it is whole anyway).
    stream: bool = True
    # The question's content parts (chat shape) when it carries images or files.
    question_parts: list[dict[str, Any]] | None = None

