"""Which provider serves which model id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.core.cards import ModelCard
from app.errors import NotFound
from app.matriz.providers.base import Provider


class RoutedProvider(Provider, Protocol):
    """A provider whose models change at run time (the routing file's groups)."""

    def card(self, model: str) -> ModelCard | None:
        """The card of `model`, or None when it serves no such model now."""
        ...


class ProviderRegistry:
    """Model id → provider: the fixed ones in the order registered, then the routed ones
    (a routed group may not reuse a built-in id: the routing file's lint refuses it)."""

    def __init__(self, providers: Sequence[Provider],
                 routed: RoutedProvider | None = None) -> None:
        self._routed = routed
        self._by_model: dict[str, tuple[ModelCard, Provider]] = {}
        for provider in providers:
            for card in provider.cards():
                self._by_model.setdefault(card.id, (card, provider))

    def cards(self) -> list[ModelCard]:
        """Every model served."""
        return [card for card, _ in self._by_model.values()]

    def card(self, model: str) -> ModelCard:
        """The card of `model`, or 404 `model_not_found`."""
        return self.resolve(model)[0]

    def resolve(self, model: str) -> tuple[ModelCard, Provider]:
        """The card and provider of `model`, or 404 `model_not_found`."""
        found = self._by_model.get(model)
        if found is None and self._routed is not None:
            card = self._routed.card(model)
            if card is not None:
                return card, self._routed
        if found is None:
            raise NotFound(
                f"The model '{model}' does not exist or you do not have access to it.",
                code="model_not_found", param="model",
            )
        return found
