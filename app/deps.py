"""Typed dependencies, read from the state the lifespan opened.

All are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a costly hop
for a lookup. The state and the caller are read from the connection, so WebSocket routes take
them too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from starlette.requests import HTTPConnection

from app.api.chat.service import ChatService
from app.api.conversations.service import ConversationsService
from app.api.dreams.service import DreamsService
from app.api.embeddings.service import EmbeddingsService
from app.api.identity.accounts import AccountsService
from app.api.identity.login import LoginService
from app.api.identity.service import IdentityService
from app.api.indexes.service import IndexesService
from app.api.models.service import ModelsService
from app.api.moderations.service import ModerationsService
from app.api.responses.background import BackgroundResponses
from app.api.responses.compact import CompactService
from app.api.responses.service import ResponsesService
from app.errors import AuthenticationFailed, PermissionDenied
from app.identity.base import Identity
from app.state import AppState


async def get_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.lukhas
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_identity(connection: HTTPConnection) -> Identity:
    identity: Identity | None = getattr(connection.state, "identity", None)
    if identity is None:  # only reachable if a route is mounted outside the identity step
        raise AuthenticationFailed("Authentication required.")
    return identity


def check_scope(identity: Identity, scope: str) -> None:
    """403 `insufficient_permissions` naming `scope`, unless `identity` carries it."""
    if not identity.has_scope(scope):
        raise PermissionDenied(
            f"This request needs the scope '{scope}', which your credential does not "
            f"carry (tier {identity.tier}).", code="insufficient_permissions",
        )


def require(scope: str) -> DependsParam:
    """A dependency yielding the caller, or 403 `insufficient_permissions` naming `scope`."""

    async def check(request: Request) -> Identity:
        identity = await get_identity(request)
        check_scope(identity, scope)
        return identity

    dependency: DependsParam = Depends(check)
    return dependency


async def get_embeddings(request: Request) -> EmbeddingsService:
    return (await get_state(request)).embeddings


async def get_moderations(request: Request) -> ModerationsService:
    return (await get_state(request)).moderations


async def get_indexes(request: Request) -> IndexesService:
    return (await get_state(request)).indexes


async def get_identity_service(request: Request) -> IdentityService:
    return (await get_state(request)).identity


async def get_accounts(request: Request) -> AccountsService:
    return (await get_state(request)).accounts


async def get_login(request: Request) -> LoginService:
    return (await get_state(request)).login


async def get_responses(request: Request) -> ResponsesService:
    return (await get_state(request)).responses


async def get_background(request: Request) -> BackgroundResponses:
    return (await get_state(request)).background


async def get_compact(request: Request) -> CompactService:
    return (await get_state(request)).compact


async def get_conversations(request: Request) -> ConversationsService:
    return (await get_state(request)).conversations


async def get_chat(request: Request) -> ChatService:
    return (await get_state(request)).chat


async def get_dreams(request: Request) -> DreamsService:
    return (await get_state(request)).dreams


async def get_models(request: Request) -> ModelsService:
    return (await get_state(request)).models


EmbeddingsDep = Annotated[EmbeddingsService, Depends(get_embeddings)]
ModerationsDep = Annotated[ModerationsService, Depends(get_moderations)]
IndexesDep = Annotated[IndexesService, Depends(get_indexes)]
IdentityServiceDep = Annotated[IdentityService, Depends(get_identity_service)]
AccountsDep = Annotated[AccountsService, Depends(get_accounts)]
LoginDep = Annotated[LoginService, Depends(get_login)]
ResponsesDep = Annotated[ResponsesService, Depends(get_responses)]
BackgroundDep = Annotated[BackgroundResponses, Depends(get_background)]
CompactDep = Annotated[CompactService, Depends(get_compact)]
ConversationsDep = Annotated[ConversationsService, Depends(get_conversations)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
ModelsDep = Annotated[ModelsService, Depends(get_models)]
DreamsDep = Annotated[DreamsService, Depends(get_dreams)]
