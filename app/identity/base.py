"""Who is calling: the identity every resolver yields, and the resolver contract.

Resolvers are tried in order; the first that recognises the credential decides. Signed ΛiD
tokens are one more resolver in this chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller. `subject` owns what the caller stores."""

    subject: str
    scopes: frozenset[str]
    tier: str
    kind: str  # "api_key" | "lid"
    token_id: str | None = None  # a ΛiD token's jti
    expires_at: int | None = None  # a ΛiD token's exp (Unix seconds)
    single_use: bool = False  # a ΛiD token valid for one request, now spent

    def has_scope(self, scope: str) -> bool:
        """True if the identity may use `scope`."""
        return scope in self.scopes


class IdentityResolver(Protocol):
    """Turns a bearer credential into an Identity, or None if it is not its kind."""

    async def resolve(self, credential: str) -> Identity | None: ...


class IdentityChain:
    """Tries each resolver in order."""

    def __init__(self, resolvers: Sequence[IdentityResolver]) -> None:
        self._resolvers = tuple(resolvers)

    async def resolve(self, credential: str) -> Identity | None:
        """The identity for `credential`, or None when no resolver accepts it."""
        for resolver in self._resolvers:
            identity = await resolver.resolve(credential)
            if identity is not None:
                return identity
        return None
