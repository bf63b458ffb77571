"""The official OpenAI Python SDK against the live server: file_search with the built-in
model, plain and streamed, parsed into the SDK's own types."""

from __future__ import annotations

import httpx
import openai
from openai.types.responses import (
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)
from openai.types.responses.response_output_text import AnnotationFileCitation

from tests.utils.indexes import file_search, sync_index

QUESTION = "When does the office open on weekdays?"
ANSWER = 'From hours.md: "The office opens at 9am and closes at 6pm on weekdays." [1]'


def test_file_search_with_the_builtin_model(client: openai.OpenAI, http: httpx.Client) -> None:
    index, docs = sync_index(http, "sdk")
    resp = client.responses.create(model="lukhas-matriz", input=QUESTION,
                                   tools=[{"type": "file_search", "vector_store_ids": [index],
                                           "max_num_results": 3}],
                                   include=["file_search_call.results"])
    call = resp.output[0]
    assert isinstance(call, ResponseFileSearchToolCall)
    assert call.status == "completed" and call.queries == [QUESTION]
    assert call.results is not None and call.results[0].file_id == docs[2]
    assert call.results[0].filename == "hours.md" and call.results[0].score is not None
    assert resp.output_text == ANSWER
    message = resp.output[-1]
    assert isinstance(message, ResponseOutputMessage)
    part = message.content[0]
    assert isinstance(part, ResponseOutputText)
    assert part.annotations == [AnnotationFileCitation(
        type="file_citation", file_id=docs[2], filename="hours.md", index=ANSWER.index("[1]"))]
    again = client.responses.retrieve(resp.id)
    assert again.output == resp.output


def test_file_search_streamed_with_the_builtin_model(client: openai.OpenAI,
                                                     http: httpx.Client) -> None:
    index, docs = sync_index(http, "sdk-stream")
    with client.responses.stream(model="lukhas-matriz", input=QUESTION,
                                 tools=[file_search(index)]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    completed = [e for e in events if isinstance(e, ResponseFileSearchCallCompletedEvent)]
    assert len(completed) == 1 and completed[0].output_index == 0
    cited = [e for e in events if e.type == "response.output_text.annotation.added"]
    assert len(cited) == 1 and cited[0].annotation is not None
    assert cited[0].annotation.model_dump() == {  # the event module's own citation type
        "type": "file_citation", "file_id": docs[2], "filename": "hours.md",
        "index": ANSWER.index("[1]")}
    assert final.output_text == ANSWER
    assert isinstance(final.output[0], ResponseFileSearchToolCall)
    assert final.output[0].results is None


def test_an_unknown_index_is_a_404(client: openai.OpenAI) -> None:
    try:
        client.responses.create(model="lukhas-matriz", input=QUESTION,
                                tools=[file_search("idx_" + "2" * 32)])
    except openai.NotFoundError as exc:
        assert exc.code == "index_not_found"
    else:
        raise AssertionError("an unknown index must be refused")
