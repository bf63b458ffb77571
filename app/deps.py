"""Typed dependencies, read from the state the lifespan opened.

All are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a costly hop
for a lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.chat.service import ChatService
from app.api.responses.service import ResponsesService
from app.errors import AuthenticationFailed
from app.identity.base import Identity
from app.matriz.providers.registry import ProviderRegistry
from app.state import AppState


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.lukhas
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_identity(request: Request) -> Identity:
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:  # only reachable if a route is mounted outside the identity step
        raise AuthenticationFailed("Authentication required.")
    return identity


async def get_responses(request: Request) -> ResponsesService:
    return (await get_state(request)).responses


async def get_chat(request: Request) -> ChatService:
    return (await get_state(request)).chat


async def get_registry(request: Request) -> ProviderRegistry:
    return (await get_state(request)).registry


IdentityDep = Annotated[Identity, Depends(get_identity)]
ResponsesDep = Annotated[ResponsesService, Depends(get_responses)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
RegistryDep = Annotated[ProviderRegistry, Depends(get_registry)]
