"""Wire models of `POST /v1/responses/compact` (Open Responses 2026-04-24:
CompactResponseMethodPublicBody, CompactResource, CompactionBody;
https://platform.openai.com/docs/api-reference/responses/compact)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.api.protocol import OpenAIModel
from app.api.responses.protocol import (
    InputItem,
    OutputFunctionCall,
    OutputTextPart,
    ResponseUsage,
)


class CompactRequest(OpenAIModel):
    """What to compact: a stored chain, input items, or the chain followed by the items."""

    model: str
    input: str | list[InputItem] | None = Field(default=None)
    previous_response_id: str | None = None
    instructions: str | None = None
    prompt_cache_key: str | None = Field(default=None, max_length=64)


# What goes out: documented in the OpenAPI document (`responses=`), built typed.


class KeptMessage(OpenAIModel):
    """A message the window kept verbatim: give it back as input, unchanged. Its text is an
    `output_text` part whatever its role (the spec allows it): the SDKs type every output
    message's parts so, and give an `input_text` part back only with a serializer warning."""

    id: str
    type: Literal["message"]
    role: Literal["user", "assistant"]
    status: Literal["completed"]
    content: list[OutputTextPart]


class KeptFunctionCallOutput(OpenAIModel):
    id: str
    type: Literal["function_call_output"]
    call_id: str
    output: str | list[Any]
    status: Literal["completed"]


class CompactionBody(OpenAIModel):
    """The rest of the conversation, sealed for the caller: pass it back as an input item."""

    id: str
    type: Literal["compaction"]
    encrypted_content: str
    created_by: str | None = None


class CompactResource(OpenAIModel):
    """The compacted window: the kept items, then one compaction item."""

    id: str
    object: Literal["response.compaction"]
    created_at: int
    output: list[KeptMessage | OutputFunctionCall | KeptFunctionCallOutput | CompactionBody]
    usage: ResponseUsage
