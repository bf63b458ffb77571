"""`/v1/conversations`: the caller's conversations and their items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.conversations.protocol import (
    Conversation,
    ConversationCreate,
    ConversationDeleted,
    ConversationItem,
    ConversationItemList,
    ConversationUpdate,
    IncludeQuery,
    ItemsCreate,
    ItemsQuery,
)
from app.api.protocol import CheckedRoute
from app.deps import ConversationsDep, require
from app.identity.base import Identity

router = APIRouter(tags=["conversations"], route_class=CheckedRoute)
Reader = Annotated[Identity, require("responses.read")]
Writer = Annotated[Identity, require("responses.write")]
# `include[]`: checked; every item carries all its fields, so each value is satisfied.
Include = Annotated[IncludeQuery, Query()]


@router.post("/conversations", response_model=None, responses={200: {"model": Conversation}})
async def create_conversation(body: ConversationCreate, who: Writer,
                              svc: ConversationsDep) -> dict[str, Any]:
    """Create a conversation, with up to 20 first items."""
    return await svc.create(who, body)


@router.get("/conversations/{conversation_id}", response_model=None,
            responses={200: {"model": Conversation}})
async def retrieve_conversation(conversation_id: str, who: Reader,
                                svc: ConversationsDep) -> dict[str, Any]:
    """A conversation of the caller's."""
    return await svc.get(who, conversation_id)


@router.post("/conversations/{conversation_id}", response_model=None,
             responses={200: {"model": Conversation}})
async def update_conversation(conversation_id: str, body: ConversationUpdate, who: Writer,
                              svc: ConversationsDep) -> dict[str, Any]:
    """Replace a conversation's metadata."""
    return await svc.update(who, conversation_id, body)


@router.delete("/conversations/{conversation_id}", response_model=None,
               responses={200: {"model": ConversationDeleted}})
async def delete_conversation(conversation_id: str, who: Writer,
                              svc: ConversationsDep) -> dict[str, Any]:
    """Delete a conversation and its items."""
    return await svc.delete(who, conversation_id)


@router.get("/conversations/{conversation_id}/items", response_model=None,
            responses={200: {"model": ConversationItemList}})
async def list_items(conversation_id: str, who: Reader, svc: ConversationsDep,
                     query: Annotated[ItemsQuery, Query()]) -> dict[str, Any]:
    """A page of a conversation's items, newest first by default."""
    return await svc.list_items(who, conversation_id, query)


@router.post("/conversations/{conversation_id}/items", response_model=None,
             responses={200: {"model": ConversationItemList}})
async def create_items(conversation_id: str, body: ItemsCreate, who: Writer,
                       svc: ConversationsDep, include: Include) -> dict[str, Any]:
    """Append up to 20 items to a conversation."""
    return await svc.add_items(who, conversation_id, body)


@router.get("/conversations/{conversation_id}/items/{item_id}", response_model=None,
            responses={200: {"model": ConversationItem}})
async def retrieve_item(conversation_id: str, item_id: str, who: Reader,
                        svc: ConversationsDep, include: Include) -> dict[str, Any]:
    """One item of a conversation."""
    return await svc.get_item(who, conversation_id, item_id)


@router.delete("/conversations/{conversation_id}/items/{item_id}", response_model=None,
               responses={200: {"model": Conversation}})
async def delete_item(conversation_id: str, item_id: str, who: Writer,
                      svc: ConversationsDep) -> dict[str, Any]:
    """Delete an item; the conversation it was in."""
    return await svc.delete_item(who, conversation_id, item_id)
