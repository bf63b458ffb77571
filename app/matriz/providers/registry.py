"""Which provider serves which model id."""

from __future__ import annotations

from collections.abc import Sequence

from app.errors import NotFound
from app.matriz.providers.base import ModelCard, Provider


class ProviderRegistry:
    """Model id → provider, in the order providers were registered."""

    def __init__(self, providers: Sequence[Provider]) -> None:
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
        if found is None:
            raise NotFound(
                f"The model '{model}' does not exist or you do not have access to it.",
                code="model_not_found", param="model",
            )
        return found
