"""Wire models of the Conversations API
(https://platform.openai.com/docs/api-reference/conversations).

Items are the Responses API's input items (a message, a function call or its output, a
reasoning item); what a conversation holds and lists is each item as stored, with its id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from app.api.protocol import Metadata, OpenAIModel
from app.api.responses.protocol import InputItem

MAX_ITEMS = 20  # per create or append, as OpenAI allows

# The `include` values OpenAI names (`ResponseIncludable`). A stored item always carries
# all of its fields, so each of them is honoured by what every item already holds.
Includable = Literal[
    "file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
    "message.input_image.image_url", "computer_call_output.output.image_url",
    "code_interpreter_call.outputs", "reasoning.encrypted_content",
    "message.output_text.logprobs",
]


class ConversationCreate(OpenAIModel):
    items: Annotated[list[InputItem], Field(max_length=MAX_ITEMS)] | None = None
    metadata: Metadata | None = None


class ConversationUpdate(OpenAIModel):
    metadata: Metadata | None


class ItemsCreate(OpenAIModel):
    items: Annotated[list[InputItem], Field(min_length=1, max_length=MAX_ITEMS)]


class IncludeQuery(OpenAIModel):
    include: list[Includable] | None = Field(default=None, alias="include[]")


class ItemsQuery(IncludeQuery):
    after: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class Conversation(OpenAIModel):
    """The conversation object (https://platform.openai.com/docs/api-reference/conversations/object)."""

    id: str
    object: Literal["conversation"]
    created_at: int
    metadata: dict[str, str]


class ConversationDeleted(OpenAIModel):
    id: str
    object: Literal["conversation.deleted"]
    deleted: bool


class ConversationItem(OpenAIModel):
    """An item as stored, with its id: a `message` (role, content parts, status), a
    `function_call` (call_id, name, arguments), its `function_call_output` (call_id,
    output) or a `reasoning` item (summary). Fields of other types are absent."""

    id: str
    type: Literal["message", "function_call", "function_call_output", "reasoning"]
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: list[dict[str, Any]] | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[Any] | None = None
    summary: list[Any] | None = None


class ConversationItemList(OpenAIModel):
    """A page of a conversation's items, or the items just added."""

    object: Literal["list"]
    data: list[ConversationItem]
    first_id: str | None
    last_id: str | None
    has_more: bool

