"""Wire models of the Responses API request (https://platform.openai.com/docs/api-reference/responses).

Only the JSON: unknown fields are accepted (new SDK versions add them); conversion into a
pipeline run belongs to the service.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from app.api.protocol import Metadata, OpenAIModel


class InputText(OpenAIModel):
    type: Literal["input_text"]
    text: str


class OutputText(OpenAIModel):
    type: Literal["output_text"]
    text: str
    annotations: list[Any] = Field(default_factory=list)


class Refusal(OpenAIModel):
    type: Literal["refusal"]
    refusal: str


class InputImage(OpenAIModel):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class InputFile(OpenAIModel):
    type: Literal["input_file"]
    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None


ContentPart = Annotated[
    InputText | OutputText | Refusal | InputImage | InputFile, Field(discriminator="type")
]


class MessageItem(OpenAIModel):
    """A message; `type` may be left out (EasyInputMessage)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(OpenAIModel):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None


class FunctionCallOutputItem(OpenAIModel):
    type: Literal["function_call_output"]
    call_id: str
    output: str | list[Any]
    id: str | None = None


class ReasoningItem(OpenAIModel):
    type: Literal["reasoning"]
    id: str | None = None
    summary: list[Any] = Field(default_factory=list)


class ItemReference(OpenAIModel):
    type: Literal["item_reference"]
    id: str


class FileSearchResult(OpenAIModel):
    """A passage a file search found: a document of one of the caller's indexes."""

    file_id: str | None = None
    filename: str | None = None
    score: float | None = None
    text: str | None = None
    attributes: dict[str, str | float | bool] | None = None


class FileSearchCallItem(OpenAIModel):
    """A file search that ran in an earlier turn (given back as input)."""

    type: Literal["file_search_call"]
    id: str
    queries: list[str] = Field(default_factory=list)
    status: str | None = None
    results: list[FileSearchResult] | None = None


class CompactionItem(OpenAIModel):
    """A window made by `/v1/responses/compact` (CompactionSummaryItemParam): the earlier
    conversation it stands for, sealed for its owner."""

    type: Literal["compaction"]
    encrypted_content: str = Field(max_length=10_485_760)
    id: str | None = None


def _item_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "message"))
    return str(getattr(value, "type", "message"))


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")]
    | Annotated[FileSearchCallItem, Tag("file_search_call")]
    | Annotated[ItemReference, Tag("item_reference")]
    | Annotated[CompactionItem, Tag("compaction")],
    Discriminator(_item_kind),
]


class ResponseCreateRequest(OpenAIModel):
    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool | None = True
    stream: bool | None = False
    stream_options: dict[str, Any] | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    metadata: Metadata | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    background: bool | None = None
    conversation: str | dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    include: list[str] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)


# The file_search tool (https://platform.openai.com/docs/api-reference/responses/create),
# over the caller's `/v1/indexes`: `vector_store_ids` are index ids.


class ComparisonFilter(OpenAIModel):
    """Compare a document attribute (a key of its metadata) with a value."""

    type: Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
    key: str = Field(min_length=1, max_length=64)
    value: bool | float | str | list[float | str]


def _filter_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "compound" if kind in ("and", "or") else "comparison"


class CompoundFilter(OpenAIModel):
    """All (`and`) or any (`or`) of its filters."""

    type: Literal["and", "or"]
    filters: list[SearchFilter] = Field(min_length=1)


SearchFilter = Annotated[
    Annotated[ComparisonFilter, Tag("comparison")] | Annotated[CompoundFilter, Tag("compound")],
    Discriminator(_filter_kind),
]


class RankingOptions(OpenAIModel):
    ranker: str | None = None
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    hybrid_search: dict[str, Any] | None = None


class FileSearchTool(OpenAIModel):
    type: Literal["file_search"]
    vector_store_ids: list[str] = Field(min_length=1, max_length=10)
    max_num_results: int | None = Field(default=None, ge=1, le=50)
    filters: SearchFilter | None = None
    ranking_options: RankingOptions | None = None


class InputItemsQuery(OpenAIModel):
    after: str | None = None
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


# What goes out: documented in the OpenAPI document (`responses=`), not validated per request.


class Deleted(OpenAIModel):
    """`{"id", "object": "<kind>.deleted", "deleted": true}`."""

    id: str
    object: str
    deleted: bool


class FileCitation(OpenAIModel):
    """A source the answer cites: `index` is where its marker `[n]` starts in the text."""

    type: Literal["file_citation"]
    file_id: str
    filename: str
    index: int


class OutputTextPart(OpenAIModel):
    type: Literal["output_text"]
    text: str
    annotations: list[FileCitation]
    logprobs: list[Any] | None = None


class OutputRefusalPart(OpenAIModel):
    type: Literal["refusal"]
    refusal: str


class OutputMessage(OpenAIModel):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    status: Literal["in_progress", "completed", "incomplete"]
    content: list[OutputTextPart | OutputRefusalPart]


class OutputFunctionCall(OpenAIModel):
    """A function call a routed model made; answer it with a `function_call_output` item."""

    id: str
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"]


class OutputFileSearchCall(OpenAIModel):
    """The search of the caller's indexes that ran before the answer; `results` with
    `include: ["file_search_call.results"]`."""

    id: str
    type: Literal["file_search_call"]
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[FileSearchResult] | None


class SummaryText(OpenAIModel):
    type: Literal["summary_text"]
    text: str


class OutputReasoning(OpenAIModel):
    id: str
    type: Literal["reasoning"]
    summary: list[SummaryText]
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class ResponseUsage(OpenAIModel):
    input_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int


class ConversationRef(OpenAIModel):
    """The conversation a response was made in (its items were read, and extended)."""

    id: str


class ResponseObject(OpenAIModel):
    """The Response object (https://platform.openai.com/docs/api-reference/responses/object)."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "failed", "in_progress", "queued", "cancelled"]
    completed_at: int | None
    background: bool
    conversation: ConversationRef | None
    error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    metadata: dict[str, str]
    output: list[OutputFileSearchCall | OutputReasoning | OutputMessage | OutputFunctionCall]
    parallel_tool_calls: bool
    previous_response_id: str | None
    reasoning: dict[str, Any]
    service_tier: str
    store: bool
    temperature: float
    text: dict[str, Any]
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    top_p: float
    truncation: Literal["auto", "disabled"]
    user: str | None
    usage: ResponseUsage | None


class InputItemList(OpenAIModel):
    """A page of a stored response's input items (messages, as given, each with an id)."""

    object: Literal["list"]
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool
