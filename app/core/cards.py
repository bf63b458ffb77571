"""What a served model is, as `/v1/models` lists it (reasoners, routed models, embedders)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelCard:
    """One entry of `/v1/models`."""

    id: str
    created: int
    owned_by: str
    context_window: int
