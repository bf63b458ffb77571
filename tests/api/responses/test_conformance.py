"""Every Response object and stream event `/v1/responses` emits, validated against the Open
Responses specification's own component schemas (`spec/`, version 2026-04-24), and our wire
dataclasses against the fields it requires.

The specification has known gaps for what this service adds or the document gets wrong; each
is patched below, minimally and by name (`_PATCHES`), so everything else is checked as written.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import httpx
import jsonschema_rs
import pytest
from websockets.asyncio.client import connect

from app.api.responses import protocol, service
from app.api.responses.compact_protocol import CompactResource
from tests.api.responses.test_sse_golden import parse_sse
from tests.conftest import KEY_A
from tests.utils.indexes import file_search, make_index
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import UPSTREAM_KEY_ENV, routed_app, routing

SPEC = json.loads((Path(__file__).parent / "spec" / "openresponses-2026-04-24.openapi.json")
                  .read_text())
MODEL = "lukhas-matriz"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"], "additionalProperties": False}}


def _file_search_call(schemas: dict[str, Any]) -> None:
    """The `file_search_call` output item (OpenAI's file search tool) is not in `ItemField`."""
    schemas["FileSearchCall"] = {
        "type": "object", "required": ["type", "id", "status", "queries", "results"],
        "properties": {
            "type": {"enum": ["file_search_call"]}, "id": {"type": "string"},
            "status": {"enum": ["in_progress", "searching", "completed", "incomplete",
                                "failed"]},
            "queries": {"type": "array", "items": {"type": "string"}},
            "results": {"anyOf": [{"type": "null"}, {"type": "array", "items": {
                "type": "object", "required": ["file_id", "filename", "score", "text"]}}]}}}
    schemas["ItemField"]["oneOf"].append({"$ref": "#/components/schemas/FileSearchCall"})


def _file_citation(schemas: dict[str, Any]) -> None:
    """`Annotation` has only `url_citation`; the file search cites with `file_citation`."""
    schemas["FileCitationBody"] = {
        "type": "object", "required": ["type", "file_id", "filename", "index"],
        "properties": {"type": {"enum": ["file_citation"]}, "file_id": {"type": "string"},
                       "filename": {"type": "string"}, "index": {"type": "integer"}}}
    schemas["Annotation"]["oneOf"].append({"$ref": "#/components/schemas/FileCitationBody"})


def _file_search_tool(schemas: dict[str, Any]) -> None:
    """`Tool` has only `function`; a response echoes the `file_search` tool it was given."""
    schemas["FileSearchTool"] = {
        "type": "object", "required": ["type", "vector_store_ids"],
        "properties": {"type": {"enum": ["file_search"]},
                       "vector_store_ids": {"type": "array", "items": {"type": "string"}}}}
    schemas["Tool"]["oneOf"].append({"$ref": "#/components/schemas/FileSearchTool"})


def _file_search_events(schemas: dict[str, Any]) -> None:
    """The `response.file_search_call.*` events (OpenAI's) have no schema in the spec."""
    for state in ("in_progress", "searching", "completed"):
        schemas[f"FileSearchCall_{state}_StreamingEvent"] = {
            "type": "object",
            "required": ["type", "sequence_number", "item_id", "output_index"],
            "properties": {"type": {"enum": [f"response.file_search_call.{state}"]},
                           "sequence_number": {"type": "integer"},
                           "item_id": {"type": "string"}, "output_index": {"type": "integer"}}}


def _json_schema_format(schemas: dict[str, Any]) -> None:
    """`JsonSchemaResponseFormat.schema` is declared null-only (a JSON Schema is an object),
    and `description`, which it requires, is not among its properties (OpenAI sends it
    only when given)."""
    fmt = schemas["JsonSchemaResponseFormat"]
    fmt["properties"]["schema"] = {"anyOf": [{"type": "object"}, {"type": "null"}]}
    fmt["required"] = [name for name in fmt["required"] if name != "description"]


_PATCHES = (_file_search_call, _file_citation, _file_search_tool, _file_search_events,
            _json_schema_format)


def _patched() -> dict[str, Any]:
    schemas = copy.deepcopy(SPEC["components"]["schemas"])
    for patch in _PATCHES:
        patch(schemas)
    return schemas


SCHEMAS = _patched()
# The spec's schema of each event type (`response.created` → ResponseCreatedStreamingEvent).
EVENT_SCHEMAS = {schema["properties"]["type"]["enum"][0]: name
                 for name, schema in SCHEMAS.items() if name.endswith("StreamingEvent")}


def _validator(name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}})


_VALIDATORS: dict[str, Any] = {}


def conforms(name: str, value: Any) -> None:
    """`value` is valid against the spec's component schema `name`."""
    if name not in _VALIDATORS:
        _VALIDATORS[name] = _validator(name)
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}"
              for e in _VALIDATORS[name].iter_errors(value)]
    assert not errors, f"{name}: {errors[:5]}"


def response_conforms(response: dict[str, Any]) -> dict[str, Any]:
    conforms("ResponseResource", response)
    return response


def events_conform(raw: str) -> list[dict[str, Any]]:
    """The stream's events, each valid against the spec's schema of its type."""
    events = [data for _, data in parse_sse(raw)]
    assert events
    for event in events:
        assert event["type"] in EVENT_SCHEMAS, f"no schema for {event['type']}"
        conforms(EVENT_SCHEMAS[event["type"]], event)
    return events


async def created(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """A non-streamed create: its response conforms, and GET gives the same object."""
    resp = await http.post("/v1/responses", json={"model": MODEL, **body})
    assert resp.status_code == 200, resp.text
    response = response_conforms(resp.json())
    if response["store"]:
        stored = await http.get(f"/v1/responses/{response['id']}")
        assert stored.json() == response, "the stored response is the one returned"
        events_conform((await http.get(f"/v1/responses/{response['id']}",
                                       params={"stream": "true"})).text)
    return response


async def streamed(http: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    """A streamed create: every event conforms, and GET gives its terminal response."""
    resp = await http.post("/v1/responses", json={"model": MODEL, "stream": True, **body})
    assert resp.status_code == 200, resp.text
    events = events_conform(resp.text)
    final = events[-1]["response"]
    if final["store"]:
        stored = await http.get(f"/v1/responses/{final['id']}")
        assert stored.json() == final, "the stored response is the one streamed"
        replayed = events_conform((await http.get(f"/v1/responses/{final['id']}",
                                                  params={"stream": "true"})).text)
        assert replayed[-1]["response"] == final
    return events


# -- the built-in model ---------------------------------------------------------------------


async def test_plain_and_streamed_responses_conform(app_client: httpx.AsyncClient) -> None:
    first = await created(app_client, input="My name is Ada Lovelace.")
    assert first["status"] == "completed"
    events = await streamed(app_client, input="What is my name?",
                            previous_response_id=first["id"])
    assert events[-1]["type"] == "response.completed"
    unstored = await created(app_client, input="What is 2+2?", store=False)
    assert unstored["store"] is False
    await streamed(app_client, input="What is 3+3?", store=False)


async def test_an_incomplete_response_conforms(app_client: httpx.AsyncClient) -> None:
    question = "Tell me everything you know about the history of mathematics in detail."
    cut = await created(app_client, input=question, max_output_tokens=1)
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}
    events = await streamed(app_client, input=question, max_output_tokens=1)
    assert events[-1]["type"] == "response.incomplete"


async def test_file_search_responses_conform(app_client: httpx.AsyncClient) -> None:
    index, _ = await make_index(app_client, "conformance")
    question = "What is the refund window for online orders?"
    found = await created(app_client, input=question, tools=[file_search(index)],
                          include=["file_search_call.results"])
    assert found["output"][0]["type"] == "file_search_call"
    events = await streamed(app_client, input=question, tools=[file_search(index)])
    assert "response.file_search_call.completed" in [e["type"] for e in events]


async def test_a_compacted_window_conforms(app_client: httpx.AsyncClient) -> None:
    first = await created(app_client, input="My name is Ada Lovelace.")
    resp = await app_client.post("/v1/responses/compact", json={
        "model": MODEL, "previous_response_id": first["id"],
        "input": [{"role": "user", "content": "I live in Paris."}]})
    assert resp.status_code == 200, resp.text
    window = resp.json()
    conforms("CompactResource", window)
    assert window["output"][-1]["type"] == "compaction"
    await created(app_client, input=[*window["output"],
                                     {"role": "user", "content": "What is my name?"}])


async def test_what_the_caller_sent_is_echoed(app_client: httpx.AsyncClient) -> None:
    sent = {"temperature": 0.3, "top_p": 0.8, "presence_penalty": 0.5,
            "frequency_penalty": -0.25, "top_logprobs": 2, "max_tool_calls": 3,
            "safety_identifier": "user-42", "prompt_cache_key": "conformance",
            "reasoning": {"effort": "low", "summary": "auto"}, "tool_choice": "none",
            "parallel_tool_calls": False, "metadata": {"case": "echo"}}
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    response = await created(app_client, input="What is 1+1?", tools=tools, **sent)
    assert {name: response[name] for name in sent} == sent
    assert response["tools"] == [{"type": "function", "name": "lookup", "description": None,
                                  "parameters": {"type": "object"}, "strict": None}]
    defaults = await created(app_client, input="What is 1+1?")
    assert {name: defaults[name] for name in (
        "temperature", "top_p", "presence_penalty", "frequency_penalty", "top_logprobs",
        "max_tool_calls", "safety_identifier", "prompt_cache_key", "reasoning", "tools")} == {
        "temperature": 1.0, "top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
        "top_logprobs": 0, "max_tool_calls": None, "safety_identifier": None,
        "prompt_cache_key": None, "reasoning": {"effort": None, "summary": None}, "tools": []}


async def test_websocket_events_conform(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/v1/responses"
    async with connect(url, additional_headers={"Authorization": f"Bearer {KEY_A}"},
                       open_timeout=30) as ws:

        async def turn(**body: Any) -> list[dict[str, Any]]:
            await ws.send(json.dumps({"type": "response.create", "model": MODEL, **body}))
            events = [json.loads(await asyncio.wait_for(ws.recv(), 30))]
            while events[-1]["type"] not in ("response.completed", "error"):
                events.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            return events

        first = await turn(input="My name is Ada Lovelace.", store=False)
        for event in first:
            conforms(EVENT_SCHEMAS[event["type"]], event)
        second = await turn(input="What is my name?", store=False,
                            previous_response_id=first[-1]["response"]["id"])
        for event in second:
            conforms(EVENT_SCHEMAS[event["type"]], event)
        [refused] = await turn(input="hi", previous_response_id="resp_unknown")
        conforms("WebSocketErrorEvent", refused)


class _TickingClock:
    """A clock a second later at each reading: two builds of one response would differ."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        self.now += 1
        return self.now


async def test_the_response_is_built_once(app_client: httpx.AsyncClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "time", _TickingClock())
    returned = await created(app_client, input="What is 5+5?")  # GET gives the same
    assert returned["completed_at"] is not None
    events = await streamed(app_client, input="What is 6+6?")  # GET gives the same
    assert events[-1]["response"]["completed_at"] is not None


# -- a routed model, through the mock upstream -----------------------------------------------

UPSTREAM_KEY = "sk-upstream-test-key-123"


@pytest.fixture
def _upstream_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(UPSTREAM_KEY_ENV, UPSTREAM_KEY)
    yield


@pytest.mark.usefixtures("_upstream_key")
async def test_routed_responses_conform(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        http = app.http
        plain = await created(http, model="gpt-test", input="hello there",
                              presence_penalty=0.5, frequency_penalty=0.25,
                              safety_identifier="user-42")
        assert plain["output"][-1]["content"][0]["text"] == "Echo: hello there"
        sent = a.last()["body"]
        assert (sent["presence_penalty"], sent["frequency_penalty"],
                sent["safety_identifier"]) == (0.5, 0.25, "user-42")
        await streamed(http, model="gpt-test", input="hello again")
        answer = await http.post("/v1/responses", json={
            "model": "gpt-test", "input": "hi", "max_tool_calls": 2})
        assert answer.status_code == 400 and answer.json()["error"]["param"] == "max_tool_calls"

        a.behave("reply", tool_calls=[{"name": "get_weather", "arguments": '{"city": "Rome"}'}])
        called = await created(http, model="gpt-test", input="Weather in Rome?",
                               tools=[WEATHER], tool_choice="required")
        call = called["output"][-1]
        assert call["type"] == "function_call"
        assert called["tools"] == [{**WEATHER, "strict": None}]
        await created(http, model="gpt-test", previous_response_id=called["id"],
                      tools=[WEATHER], input=[{"type": "function_call_output",
                                               "call_id": call["call_id"], "output": "21 C"}])
        a.behave("reply", tool_calls=[{"name": "get_weather", "arguments": '{"city": "Oslo"}'}])
        events = await streamed(http, model="gpt-test", input="Weather in Oslo?",
                                tools=[WEATHER])
        assert "response.function_call_arguments.done" in [e["type"] for e in events]

        a.behave("content_filter")
        filtered = await created(http, model="gpt-test", input="something")
        assert filtered["status"] == "incomplete"

        a.behave("reply", reply='{"city": "Rome"}')
        formatted = await created(http, model="gpt-test", input="A city, as JSON.", text={
            "format": {"type": "json_schema", "name": "city", "strict": True,
                       "schema": WEATHER["parameters"]}})
        assert formatted["text"]["format"]["name"] == "city"


@pytest.mark.usefixtures("_upstream_key")
async def test_failed_responses_conform(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    a = mock_upstream_factory()
    words = "one two three four five six seven eight nine ten eleven twelve"
    async with routed_app(pg_url, tmp_path, routing(a.url)) as app:
        a.behave("die", die_after_chunks=6,
                 reply=" ".join(["an-answer-long-enough-to-be-sent"] * 12))
        events = await streamed(app.http, model="gpt-test", input=words)
        assert events[-1]["type"] == "response.failed"
        assert events[-1]["response"]["error"]["code"] == "upstream_error"
        a.behave("server_error", times=None)
        refused = await app.http.post("/v1/responses", json={"model": "gpt-test",
                                                             "input": words, "stream": True})
        assert refused.status_code >= 500, "a failure before the response starts is an error"


# -- the dataclasses against the spec -------------------------------------------------------

# Each of our wire types, and the spec's schemas it stands for.
COUNTERPARTS: list[tuple[Any, tuple[str, ...]]] = [
    (protocol.ResponseObject, ("ResponseResource",)),
    (protocol.OutputMessage, ("Message",)),
    (protocol.OutputFunctionCall, ("FunctionCall",)),
    (protocol.OutputFunctionCallOutput, ("FunctionCallOutput",)),
    (protocol.OutputReasoning, ("ReasoningBody",)),
    (protocol.OutputCompaction, ("CompactionBody",)),
    (protocol.OutputTextPart, ("OutputTextContent",)),
    (protocol.OutputRefusalPart, ("RefusalContent",)),
    (protocol.SummaryText, ("SummaryTextContent",)),
    (protocol.ResponseUsage, ("Usage",)),
    (protocol.InputTokensDetails, ("InputTokensDetails",)),
    (protocol.OutputTokensDetails, ("OutputTokensDetails",)),
    (protocol.ResponseError, ("Error",)),
    (protocol.IncompleteDetails, ("IncompleteDetails",)),
    (protocol.ReasoningConfig, ("Reasoning",)),
    (protocol.FunctionTool, ("FunctionTool",)),
    (CompactResource, ("CompactResource",)),
    (protocol.ResponseStateEvent, (
        "ResponseCreatedStreamingEvent", "ResponseInProgressStreamingEvent",
        "ResponseCompletedStreamingEvent", "ResponseFailedStreamingEvent",
        "ResponseIncompleteStreamingEvent")),
    (protocol.OutputItemEvent, ("ResponseOutputItemAddedStreamingEvent",
                                "ResponseOutputItemDoneStreamingEvent")),
    (protocol.ReasoningSummaryPartEvent, ("ResponseReasoningSummaryPartAddedStreamingEvent",
                                          "ResponseReasoningSummaryPartDoneStreamingEvent")),
    (protocol.ReasoningSummaryTextDeltaEvent, ("ResponseReasoningSummaryDeltaStreamingEvent",)),
    (protocol.ReasoningSummaryTextDoneEvent, ("ResponseReasoningSummaryDoneStreamingEvent",)),
    (protocol.ContentPartEvent, ("ResponseContentPartAddedStreamingEvent",
                                 "ResponseContentPartDoneStreamingEvent")),
    (protocol.OutputTextDeltaEvent, ("ResponseOutputTextDeltaStreamingEvent",)),
    (protocol.OutputTextDoneEvent, ("ResponseOutputTextDoneStreamingEvent",)),
    (protocol.OutputTextAnnotationAddedEvent, (
        "ResponseOutputTextAnnotationAddedStreamingEvent",)),
    (protocol.RefusalDeltaEvent, ("ResponseRefusalDeltaStreamingEvent",)),
    (protocol.RefusalDoneEvent, ("ResponseRefusalDoneStreamingEvent",)),
    (protocol.FunctionCallArgumentsDeltaEvent, (
        "ResponseFunctionCallArgumentsDeltaStreamingEvent",)),
    (protocol.FunctionCallArgumentsDoneEvent, (
        "ResponseFunctionCallArgumentsDoneStreamingEvent",)),
]


@pytest.mark.parametrize(("kind", "names"), COUNTERPARTS,
                         ids=[kind.__name__ for kind, _ in COUNTERPARTS])
def test_our_types_have_every_required_field(kind: Any, names: tuple[str, ...]) -> None:
    # A dataclass is written whole: each of its fields is always present.
    ours = {f.name for f in fields(kind)}
    for name in names:
        required = set(SPEC["components"]["schemas"][name]["required"])
        assert required <= ours, f"{kind.__name__} lacks {sorted(required - ours)} ({name})"


def test_every_event_type_we_emit_has_a_spec_schema() -> None:
    kinds = [*(kind for kind, _ in COUNTERPARTS if kind.__name__.endswith("Event")),
             protocol.FileSearchCallEvent]
    assert set(kinds) == set(get_args(get_args(protocol.StreamEvent)[0]))
    ours = {value for kind in kinds for value in get_args(get_type_hints(kind)["type"])}
    assert ours <= set(EVENT_SCHEMAS), sorted(ours - set(EVENT_SCHEMAS))
