"""Wire objects of the Responses API (https://platform.openai.com/docs/api-reference/responses,
Open Responses 2026-04-24).

What comes in is pydantic: unknown fields are accepted (new SDK versions add them); conversion
into a pipeline run belongs to the service. What goes out (the Response object, its output
items, its stream events) is plain dataclasses, built once and written by orjson as they
are; pydantic only reads them for the OpenAPI document (`app.api.protocol.wire_schemas`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
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
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tool_calls: int | None = Field(default=None, ge=1)
    safety_identifier: str | None = Field(default=None, max_length=64)
    prompt_cache_key: str | None = Field(default=None, max_length=64)


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


# What goes out besides the Response object: documented in the OpenAPI document.


class Deleted(OpenAIModel):
    """`{"id", "object": "<kind>.deleted", "deleted": true}`."""

    id: str
    object: str
    deleted: bool


class InputItemList(OpenAIModel):
    """A page of a stored response's input items (messages, as given, each with an id)."""

    object: Literal["list"]
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


# The Response object, its output items and its stream events (Open Responses
# `ResponseResource`, `ItemField` and the `*StreamingEvent` schemas). Every field the
# specification requires is a field without a default here, or one whose default is the
# specification's; `tests/api/responses/test_conformance.py` holds the two together.

ItemStatus = Literal["in_progress", "completed", "incomplete"]
# One token's log probability (`LogProb`): {"token", "logprob", "bytes", "top_logprobs"}.
Logprob = dict[str, Any]


@dataclass(kw_only=True)
class FileCitation:
    """A source the answer cites: `index` is where its marker `[n]` starts in the text."""

    type: Literal["file_citation"] = "file_citation"
    file_id: str
    filename: str
    index: int


@dataclass(kw_only=True)
class OutputTextPart:
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[FileCitation] = field(default_factory=list)
    logprobs: list[Logprob] = field(default_factory=list)


@dataclass(kw_only=True)
class OutputRefusalPart:
    type: Literal["refusal"] = "refusal"
    refusal: str


@dataclass(kw_only=True)
class SummaryText:
    type: Literal["summary_text"] = "summary_text"
    text: str


ContentPartOut = Annotated[OutputTextPart | OutputRefusalPart, Field(discriminator="type")]


@dataclass(kw_only=True)
class OutputMessage:
    """A message: the answer (or, in a compacted window, a turn kept verbatim)."""

    id: str
    type: Literal["message"] = "message"
    status: ItemStatus
    role: Literal["assistant", "user"] = "assistant"
    content: list[ContentPartOut]


@dataclass(kw_only=True)
class OutputFunctionCall:
    """A function call the model made; answer it with a `function_call_output` item."""

    id: str
    type: Literal["function_call"] = "function_call"
    status: ItemStatus
    call_id: str
    name: str
    arguments: str


@dataclass(kw_only=True)
class OutputFunctionCallOutput:
    """A function's output (in a compacted window, as it was given)."""

    id: str
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str
    output: str | list[Any]
    status: ItemStatus = "completed"


@dataclass(kw_only=True)
class OutputReasoning:
    id: str
    type: Literal["reasoning"] = "reasoning"
    summary: list[SummaryText]
    status: ItemStatus


@dataclass(kw_only=True)
class FileSearchHit:
    """A passage a file search found: a document of one of the caller's indexes."""

    file_id: str | None
    filename: str | None
    score: float | None
    text: str | None
    attributes: dict[str, str | float | bool] | None


@dataclass(kw_only=True)
class OutputFileSearchCall:
    """The search of the caller's indexes that ran before the answer; `results` with
    `include: ["file_search_call.results"]`."""

    id: str
    type: Literal["file_search_call"] = "file_search_call"
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[FileSearchHit] | None


@dataclass(kw_only=True)
class OutputCompaction:
    """The rest of a conversation, sealed for its owner: pass it back as an input item."""

    id: str
    type: Literal["compaction"] = "compaction"
    encrypted_content: str
    created_by: str


OutputItem = Annotated[
    OutputFileSearchCall | OutputReasoning | OutputMessage | OutputFunctionCall
    | OutputFunctionCallOutput | OutputCompaction,
    Field(discriminator="type"),
]


@dataclass(kw_only=True)
class InputTokensDetails:
    cached_tokens: int = 0


@dataclass(kw_only=True)
class OutputTokensDetails:
    reasoning_tokens: int = 0


@dataclass(kw_only=True)
class ResponseUsage:
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int

    @classmethod
    def of(cls, input_tokens: int, output_tokens: int, reasoning_tokens: int = 0,
           cached_tokens: int = 0) -> ResponseUsage:
        """Usage with its details (strict clients read them) and its total."""
        return cls(input_tokens=input_tokens,
                   input_tokens_details=InputTokensDetails(cached_tokens=cached_tokens),
                   output_tokens=output_tokens,
                   output_tokens_details=OutputTokensDetails(reasoning_tokens=reasoning_tokens),
                   total_tokens=input_tokens + output_tokens)


@dataclass(kw_only=True)
class ResponseError:
    code: str
    message: str


@dataclass(kw_only=True)
class IncompleteDetails:
    reason: str


@dataclass(kw_only=True)
class FilteredDetails(IncompleteDetails):
    """Ended by the content filter: also how many spans of what was sent were redacted
    before it (never which rule, nor what)."""

    redactions: int


@dataclass(kw_only=True)
class ReasoningConfig:
    """The reasoning the caller asked for (the built-in model's summary is always given)."""

    effort: str | None = None
    summary: str | None = None


@dataclass(kw_only=True)
class FunctionTool:
    """A function tool as the caller declared it, normalised: every field present."""

    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(kw_only=True)
class ConversationRef:
    """The conversation a response was made in (its items were read, and extended)."""

    id: str


# `cancelled`: a streamed response whose client left before its end (as stored).
ResponseStatus = Literal["queued", "in_progress", "completed", "incomplete", "failed",
                         "cancelled"]


@dataclass(kw_only=True)
class ResponseObject:
    """The Response object (https://platform.openai.com/docs/api-reference/responses/object):
    the request's settings as they were used, then what the run made of them."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    completed_at: int | None = None
    background: bool = False
    conversation: ConversationRef | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    metadata: dict[str, str] = field(default_factory=dict)
    output: list[OutputItem] = field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    reasoning: ReasoningConfig = field(default_factory=ReasoningConfig)
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool = True
    temperature: float = 1.0
    text: dict[str, Any] = field(default_factory=lambda: {"format": {"type": "text"}})
    tool_choice: str | dict[str, Any] = "auto"
    tools: list[FunctionTool | dict[str, Any]] = field(default_factory=list)
    top_logprobs: int = 0
    top_p: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    truncation: Literal["auto", "disabled"] = "disabled"
    user: str | None = None
    usage: ResponseUsage | None = None

    def ended(self, status: ResponseStatus, *, completed_at: int | None,
              error: ResponseError | None, incomplete_details: IncompleteDetails | None,
              output: list[OutputItem], usage: ResponseUsage | None) -> ResponseObject:
        """This response as its run ended: a copy with what the run made. Copied field by
        field rather than through `__init__` (`dataclasses.replace` costs ten times more)."""
        ended = object.__new__(ResponseObject)
        ended.__dict__.update(self.__dict__)
        ended.status, ended.completed_at, ended.error = status, completed_at, error
        ended.incomplete_details, ended.output, ended.usage = incomplete_details, output, usage
        return ended


# Stream events, in the order a stream can carry them; each with its `sequence_number`.


@dataclass(kw_only=True)
class ResponseStateEvent:
    """The response as it stands: when it starts, and when it ends (the full output)."""

    type: Literal["response.created", "response.in_progress", "response.completed",
                  "response.incomplete", "response.failed"]
    sequence_number: int
    response: ResponseObject


@dataclass(kw_only=True)
class OutputItemEvent:
    """An output item begins (`added`, as it is then) or is finished (`done`)."""

    type: Literal["response.output_item.added", "response.output_item.done"]
    sequence_number: int
    output_index: int
    item: OutputItem


@dataclass(kw_only=True)
class FileSearchCallEvent:
    """The file search item's state (it ran before the answer)."""

    type: Literal["response.file_search_call.in_progress",
                  "response.file_search_call.searching",
                  "response.file_search_call.completed"]
    sequence_number: int
    item_id: str
    output_index: int


@dataclass(kw_only=True)
class ReasoningSummaryPartEvent:
    type: Literal["response.reasoning_summary_part.added",
                  "response.reasoning_summary_part.done"]
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


@dataclass(kw_only=True)
class ReasoningSummaryTextDeltaEvent:
    type: Literal["response.reasoning_summary_text.delta"] = (
        "response.reasoning_summary_text.delta")
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    delta: str


@dataclass(kw_only=True)
class ReasoningSummaryTextDoneEvent:
    type: Literal["response.reasoning_summary_text.done"] = (
        "response.reasoning_summary_text.done")
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    text: str


@dataclass(kw_only=True)
class ContentPartEvent:
    type: Literal["response.content_part.added", "response.content_part.done"]
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: ContentPartOut


@dataclass(kw_only=True)
class OutputTextDeltaEvent:
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Logprob]


@dataclass(kw_only=True)
class OutputTextAnnotationAddedEvent:
    type: Literal["response.output_text.annotation.added"] = (
        "response.output_text.annotation.added")
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    annotation_index: int
    annotation: FileCitation


@dataclass(kw_only=True)
class OutputTextDoneEvent:
    type: Literal["response.output_text.done"] = "response.output_text.done"
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Logprob]


@dataclass(kw_only=True)
class RefusalDeltaEvent:
    type: Literal["response.refusal.delta"] = "response.refusal.delta"
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


@dataclass(kw_only=True)
class RefusalDoneEvent:
    type: Literal["response.refusal.done"] = "response.refusal.done"
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    refusal: str


@dataclass(kw_only=True)
class FunctionCallArgumentsDeltaEvent:
    type: Literal["response.function_call_arguments.delta"] = (
        "response.function_call_arguments.delta")
    sequence_number: int
    item_id: str
    output_index: int
    delta: str


@dataclass(kw_only=True)
class FunctionCallArgumentsDoneEvent:
    type: Literal["response.function_call_arguments.done"] = (
        "response.function_call_arguments.done")
    sequence_number: int
    item_id: str
    output_index: int
    name: str
    arguments: str


StreamEvent = Annotated[
    ResponseStateEvent | OutputItemEvent | FileSearchCallEvent | ReasoningSummaryPartEvent
    | ReasoningSummaryTextDeltaEvent | ReasoningSummaryTextDoneEvent | ContentPartEvent
    | OutputTextDeltaEvent | OutputTextAnnotationAddedEvent | OutputTextDoneEvent
    | RefusalDeltaEvent | RefusalDoneEvent | FunctionCallArgumentsDeltaEvent
    | FunctionCallArgumentsDoneEvent,
    Field(discriminator="type"),
]


# Reading back what was stored (a stored body is the JSON of a `ResponseObject`; one stored
# before a field existed gets the field's default).


def response_from_stored(body: dict[str, Any]) -> ResponseObject:
    """The Response object a stored body holds."""
    known = {name: body[name] for name in _RESPONSE_FIELDS if name in body}
    conversation, error = body.get("conversation"), body.get("error")
    incomplete, reasoning, usage = (body.get("incomplete_details"), body.get("reasoning"),
                                    body.get("usage"))
    return ResponseObject(**{
        **known,
        "conversation": None if conversation is None else ConversationRef(**conversation),
        "error": None if error is None else ResponseError(code=error["code"],
                                                          message=error["message"]),
        "incomplete_details": None if incomplete is None else (
            FilteredDetails(**incomplete) if "redactions" in incomplete
            else IncompleteDetails(**incomplete)),
        "reasoning": ReasoningConfig(**{k: v for k, v in (reasoning or {}).items()
                                         if k in ("effort", "summary")}),
        "tools": [_tool_from_stored(t) for t in body.get("tools") or ()],
        "output": [item_from_stored(item) for item in body.get("output") or ()],
        "usage": None if usage is None else ResponseUsage.of(
            usage["input_tokens"], usage["output_tokens"],
            (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0),
            (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)),
    })


def item_from_stored(item: dict[str, Any]) -> OutputItem:
    """An output item a stored body holds."""
    kind = item["type"]
    if kind == "message":
        return OutputMessage(id=item["id"], status=item["status"], role=item["role"],
                             content=[_part_from_stored(p) for p in item["content"]])
    if kind == "reasoning":
        return OutputReasoning(id=item["id"], status=item.get("status") or "completed",
                               summary=[SummaryText(text=s["text"]) for s in item["summary"]])
    if kind == "file_search_call":
        results = item.get("results")
        return OutputFileSearchCall(
            id=item["id"], status=item["status"], queries=list(item["queries"]),
            results=None if results is None else [FileSearchHit(**r) for r in results])
    if kind == "function_call":
        return OutputFunctionCall(id=item["id"], status=item["status"],
                                  call_id=item["call_id"], name=item["name"],
                                  arguments=item["arguments"])
    if kind == "function_call_output":
        return OutputFunctionCallOutput(id=item["id"], call_id=item["call_id"],
                                        output=item["output"], status=item["status"])
    return OutputCompaction(id=item["id"], encrypted_content=item["encrypted_content"],
                            created_by=item["created_by"])


def _tool_from_stored(tool: dict[str, Any]) -> FunctionTool | dict[str, Any]:
    if tool.get("type") != "function":
        return tool
    return FunctionTool(name=tool["name"], description=tool.get("description"),
                        parameters=tool.get("parameters"), strict=tool.get("strict"))


def _part_from_stored(part: dict[str, Any]) -> OutputTextPart | OutputRefusalPart:
    if part["type"] == "refusal":
        return OutputRefusalPart(refusal=part["refusal"])
    return OutputTextPart(text=part["text"], logprobs=part.get("logprobs") or [],
                          annotations=[FileCitation(file_id=a["file_id"],
                                                    filename=a["filename"], index=a["index"])
                                       for a in part.get("annotations") or ()])


_RESPONSE_FIELDS = tuple(f.name for f in fields(ResponseObject))
