"""Wire models of `POST /v1/responses/compact` (Open Responses 2026-04-24:
CompactResponseMethodPublicBody, CompactResource, CompactionBody;
https://platform.openai.com/docs/api-reference/responses/compact)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from app.api.protocol import OpenAIModel
from app.api.responses.protocol import InputItem, OutputItem, ResponseUsage


class CompactRequest(OpenAIModel):
    """What to compact: a stored chain, input items, or the chain followed by the items."""

    model: str
    input: str | list[InputItem] | None = Field(default=None)
    previous_response_id: str | None = None
    instructions: str | None = None
    prompt_cache_key: str | None = Field(default=None, max_length=64)


# What goes out: the output items of `app.api.responses.protocol`, typed as a response's.


@dataclass(kw_only=True)
class CompactResource:
    """The compacted window: the kept items (messages verbatim, their text an `output_text`
    part whatever the role, as the SDKs type every output message's parts; function calls
    and outputs as given), then one compaction item standing for the rest."""

    id: str
    object: Literal["response.compaction"] = "response.compaction"
    created_at: int
    output: list[OutputItem]
    usage: ResponseUsage
