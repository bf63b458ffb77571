"""The Conversations API and `conversation` on `/v1/responses`, through the official Python
SDK against the live server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from openai.types.conversations import Conversation, ConversationDeletedResource, Message

from tests.conftest import KEY_A

MODEL = "lukhas-matriz"


@pytest.fixture
def sdk(base_url: str) -> Iterator[openai.OpenAI]:
    """The SDK as a caller of its own (a fresh ΛiD subject: no long-term memory yet)."""
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=mint(base_url),
                       max_retries=0) as client:
        yield client


def mint(base_url: str) -> str:
    return str(httpx.post(f"{base_url}/v1/identity/tokens", headers={
        "Authorization": f"Bearer {KEY_A}"}, json={
        "realm": "LUKHAS", "zone": "eu", "tier": "T2"}).json()["token"])


def texts(sdk: openai.OpenAI, conversation_id: str) -> list[tuple[str, str]]:
    """The conversation's messages, oldest first: (role, text)."""
    out = []
    for item in sdk.conversations.items.list(conversation_id, order="asc", limit=100):
        if item.type == "reasoning":
            continue
        assert isinstance(item, Message)
        out.append((item.role, "".join(getattr(p, "text", "") for p in item.content)))
    return out


def test_create_retrieve_update_delete(sdk: openai.OpenAI) -> None:
    made = sdk.conversations.create(
        metadata={"topic": "demo"},
        items=[{"type": "message", "role": "user", "content": "Hello!"},
               {"role": "assistant", "content": "Hi."}])
    assert isinstance(made, Conversation)
    assert made.id.startswith("conv_") and made.object == "conversation"
    assert made.metadata == {"topic": "demo"} and made.created_at > 0
    again = sdk.conversations.retrieve(made.id)
    assert (again.id, again.created_at, again.metadata) == (made.id, made.created_at,
                                                            made.metadata)
    updated = sdk.conversations.update(made.id, metadata={"topic": "other", "n": "2"})
    assert updated.metadata == {"topic": "other", "n": "2"} and updated.id == made.id
    assert sdk.conversations.retrieve(made.id).metadata == {"topic": "other", "n": "2"}
    assert texts(sdk, made.id) == [("user", "Hello!"), ("assistant", "Hi.")]

    deleted = sdk.conversations.delete(made.id)
    assert isinstance(deleted, ConversationDeletedResource)
    assert (deleted.id, deleted.object, deleted.deleted) == (made.id, "conversation.deleted",
                                                             True)
    for call in (lambda: sdk.conversations.retrieve(made.id),
                 lambda: sdk.conversations.delete(made.id),
                 lambda: sdk.conversations.update(made.id, metadata={}),
                 lambda: sdk.conversations.items.list(made.id)):
        with pytest.raises(openai.NotFoundError) as missing:
            call()
        assert missing.value.code == "conversation_not_found"
    empty = sdk.conversations.create()
    assert empty.metadata == {} and texts(sdk, empty.id) == []


def test_items_create_list_retrieve_delete(sdk: openai.OpenAI) -> None:
    conv = sdk.conversations.create()
    added = sdk.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "user", "content": f"Note {i}."} for i in range(20)])
    ids = [item.id for item in added.data]
    assert len(ids) == 20 and len(set(ids)) == 20 and all(i.startswith("msg_") for i in ids)
    assert (added.first_id, added.last_id, added.has_more) == (ids[0], ids[-1], False)
    more = sdk.conversations.items.create(conv.id, items=[
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}",
         "id": "fc_given"},
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        {"type": "message", "role": "developer", "id": "msg_given",
         "content": [{"type": "input_text", "text": "Be brief."}]}])
    assert [i.id for i in more.data][::2] == ["fc_given", "msg_given"]
    ids += [i.id for i in more.data]

    page = sdk.conversations.items.list(conv.id, limit=5)  # newest first by default
    assert [i.id for i in page.data] == ids[::-1][:5] and page.has_more
    assert [i.id for i in sdk.conversations.items.list(conv.id, limit=7)] == ids[::-1]
    assert [i.id for i in sdk.conversations.items.list(conv.id, order="asc", limit=6)] == ids
    after = sdk.conversations.items.list(conv.id, order="asc", after=ids[19], limit=2)
    assert [i.id for i in after.data] == ids[20:22] and after.has_more
    last = sdk.conversations.items.list(conv.id, order="asc", after=ids[21], limit=2)
    assert [i.id for i in last.data] == ids[22:] and not last.has_more
    listed = sdk.conversations.items.list(conv.id, limit=100, include=[
        "message.output_text.logprobs", "message.input_image.image_url"])
    assert len(listed.data) == 23

    call = sdk.conversations.items.retrieve("fc_given", conversation_id=conv.id)
    assert call.type == "function_call" and call.name == "lookup"
    output = sdk.conversations.items.retrieve(ids[21], conversation_id=conv.id)
    assert output.type == "function_call_output" and output.output == "42"
    note = sdk.conversations.items.retrieve(ids[3], conversation_id=conv.id)
    assert isinstance(note, Message) and note.status == "completed"
    assert note.content[0].type == "input_text" and note.content[0].text == "Note 3."

    after_delete = sdk.conversations.items.delete(ids[3], conversation_id=conv.id)
    assert isinstance(after_delete, Conversation) and after_delete.id == conv.id
    assert ids[3] not in [i.id for i in sdk.conversations.items.list(conv.id, limit=100)]
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.conversations.items.retrieve(ids[3], conversation_id=conv.id)
    assert gone.value.code == "item_not_found"
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.conversations.items.delete(ids[3], conversation_id=conv.id)
    assert gone.value.code == "item_not_found"
    with pytest.raises(openai.NotFoundError) as cursor:
        sdk.conversations.items.list(conv.id, after=ids[3])
    assert cursor.value.param == "after"


def test_bad_items_and_ids(sdk: openai.OpenAI, http: httpx.Client) -> None:
    conv = sdk.conversations.create(items=[{"role": "user", "content": "one",
                                            "id": "msg_one"}])
    note = {"type": "message", "role": "user", "content": "x"}
    cases = [
        (lambda: sdk.conversations.create(items=[note] * 21), "items"),
        (lambda: sdk.conversations.items.create(conv.id, items=[note] * 21), "items"),
        (lambda: sdk.conversations.items.create(conv.id, items=[]), "items"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {**note, "id": "item_wrongprefix"}]), "items[0].id"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {"type": "function_call", "id": "msg_x", "call_id": "c", "name": "f",
             "arguments": "{}"}]), "items[0].id"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {**note, "id": "msg_one"}]), "items"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {**note, "id": "msg_twice"}, {**note, "id": "msg_twice"}]), "items"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {"type": "item_reference", "id": "msg_one"}]), "items[0]"),
        (lambda: sdk.conversations.items.create(conv.id, items=[  # type: ignore[list-item]
            note, {"type": "compaction", "encrypted_content": "x"}]), "items[1].type"),
        (lambda: sdk.conversations.items.create(conv.id, items=[  # type: ignore[list-item]
            {"type": "file_search_call", "id": "fs_1", "queries": ["q"]}]), "items[0].type"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            note, {**note, "id": "msg_" + "x" * 300}]), "items[1].id"),
        (lambda: sdk.responses.create(model=MODEL, conversation=conv.id, input=[
            {**note, "id": "msg_" + "x" * 300}]), "input[0].id"),
        (lambda: sdk.conversations.items.create(conv.id, items=[
            {"role": "user", "content": [{"type": "input_image",
                                          "image_url": "data:image/png;base64,AAAA"}]}]),
         "items[0].content[0]"),
        (lambda: sdk.conversations.create(metadata={f"k{i}": "v" for i in range(17)}),
         "metadata"),
        (lambda: sdk.conversations.items.list(conv.id, include=["no.such.field"]),  # type: ignore[list-item]
         "include[]"),
    ]
    for call, param in cases:
        with pytest.raises(openai.BadRequestError) as bad:
            call()
        assert bad.value.param is not None and bad.value.param.startswith(param), \
            (param, bad.value.body)
    assert texts(sdk, conv.id) == [("user", "one")], "nothing half-added"
    with pytest.raises(openai.BadRequestError) as duplicate:
        sdk.conversations.items.create(conv.id, items=[{**note, "id": "msg_one"}])
    assert duplicate.value.code == "item_already_in_conversation"
    for path in ("/v1/conversations/conv_nope", "/v1/conversations/nope/items",
                 f"/v1/conversations/{conv.id}/items/msg_nope"):
        missing = http.get(path)
        assert missing.status_code == 404 and missing.json()["error"]["message"], path
    bad_body = http.post("/v1/conversations", content=b"{not json",
                         headers={"content-type": "application/json"})
    assert bad_body.status_code == 400


def test_responses_in_a_conversation_recall_earlier_turns(sdk: openai.OpenAI) -> None:
    conv = sdk.conversations.create()
    raw = sdk.responses.with_raw_response.create(model=MODEL, input="My name is Ada Lovelace.",
                                                 conversation=conv.id)
    assert "x-lukhas-session" not in raw.headers, "the conversation is the history"
    first = raw.parse()
    assert first.conversation is not None and first.conversation.id == conv.id
    second = sdk.responses.create(model=MODEL, input="What is my name?",
                                  conversation={"id": conv.id})
    assert "Ada Lovelace" in second.output_text
    assert conv.id in second.output_text, "the answer cites the conversation's item"
    assert second.conversation is not None and second.conversation.id == conv.id
    assert sdk.responses.retrieve(second.id).conversation.id == conv.id  # type: ignore[union-attr]

    # Each response added its input item, then its output items (reasoning, message),
    # each keeping its id.
    items = [i.id for i in sdk.conversations.items.list(conv.id, order="asc")]
    assert items == [sdk.responses.input_items.list(first.id).data[0].id,
                     *[o.id for o in first.output],
                     sdk.responses.input_items.list(second.id).data[0].id,
                     *[o.id for o in second.output]]
    assert [o.type for o in second.output] == ["reasoning", "message"]
    assert texts(sdk, conv.id)[3] == ("assistant", second.output_text)

    # A streamed response is read and appended the same way.
    with sdk.responses.stream(model=MODEL, input="What is my name?",
                              conversation=conv.id) as stream:
        final = stream.get_final_response()
    assert "Ada Lovelace" in final.output_text and final.conversation is not None
    assert len(texts(sdk, conv.id)) == 6


def test_store_false_extends_the_conversation_only(sdk: openai.OpenAI) -> None:
    """OpenAI: "Any response attached to a conversation will have its items persisted";
    the response itself is not kept, nor the caller's words in long-term memory."""
    conv = sdk.conversations.create()
    told = sdk.responses.create(model=MODEL, input="My name is Grace Hopper.",
                                conversation=conv.id, store=False)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(told.id)
    assert texts(sdk, conv.id)[0] == ("user", "My name is Grace Hopper.")
    asked = sdk.responses.create(model=MODEL, input="What is my name?", conversation=conv.id,
                                 store=False)
    assert "Grace Hopper" in asked.output_text
    elsewhere = sdk.responses.create(model=MODEL, input="What is my name?", store=False)
    assert "Grace" not in elsewhere.output_text, "nothing went to long-term memory"

    # Deleting the item takes it out of the next response's history.
    name_item = next(i for i in sdk.conversations.items.list(conv.id, order="asc"))
    sdk.conversations.items.delete(name_item.id, conversation_id=conv.id)
    forgotten = sdk.responses.create(model=MODEL, input="What is my name?",
                                     conversation=conv.id, store=False)
    assert "Grace" not in forgotten.output_text


def test_items_added_by_hand_are_history(sdk: openai.OpenAI) -> None:
    conv = sdk.conversations.create(items=[
        {"role": "user", "content": "My favourite colour is teal."},
        {"role": "assistant", "content": "Noted."}])
    asked = sdk.responses.create(model=MODEL, input="What is my favourite colour?",
                                 conversation=conv.id)
    assert "teal" in asked.output_text


def test_responses_conversation_errors(sdk: openai.OpenAI, base_url: str) -> None:
    conv = sdk.conversations.create()
    first = sdk.responses.create(model=MODEL, input="Hello.", conversation=conv.id)
    with pytest.raises(openai.BadRequestError) as both:
        sdk.responses.create(model=MODEL, input="Hi.", conversation=conv.id,
                             previous_response_id=first.id)
    assert both.value.code == "mutually_exclusive_parameters"
    with pytest.raises(openai.BadRequestError) as malformed:
        sdk.responses.create(model=MODEL, input="Hi.", conversation="resp_123")
    assert malformed.value.param == "conversation"
    with pytest.raises(openai.BadRequestError) as malformed:
        sdk.responses.create(model=MODEL, input="Hi.",
                             conversation={"id": conv.id, "extra": 1})  # type: ignore[typeddict-unknown-key]
    assert malformed.value.param == "conversation"
    with pytest.raises(openai.BadRequestError) as with_session:
        sdk.responses.create(model=MODEL, input="Hi.", conversation=conv.id,
                             extra_headers={"x-lukhas-session": "s1"})
    assert with_session.value.param == "x-lukhas-session"
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as unknown:
            sdk.responses.create(model=MODEL, input="Hi.", conversation="conv_nope",
                                 stream=stream)
        assert unknown.value.code == "conversation_not_found"
    assert len(texts(sdk, conv.id)) == 2, "a refused request adds nothing"


def test_another_callers_conversation_is_a_404(sdk: openai.OpenAI, base_url: str) -> None:
    conv = sdk.conversations.create(metadata={"secret": "alpha"}, items=[
        {"role": "user", "content": "My name is Ada Lovelace.", "id": "msg_alpha"}])
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=mint(base_url),
                       max_retries=0) as other:
        calls = [
            lambda: other.conversations.retrieve(conv.id),
            lambda: other.conversations.update(conv.id, metadata={"secret": "beta"}),
            lambda: other.conversations.items.list(conv.id),
            lambda: other.conversations.items.create(conv.id, items=[
                {"role": "user", "content": "planted"}]),
            lambda: other.conversations.items.retrieve("msg_alpha", conversation_id=conv.id),
            lambda: other.conversations.items.delete("msg_alpha", conversation_id=conv.id),
            lambda: other.responses.create(model=MODEL, input="What is my name?",
                                           conversation=conv.id),
            lambda: other.conversations.delete(conv.id),
        ]
        for call in calls:
            with pytest.raises(openai.NotFoundError) as missing:
                call()
            assert missing.value.code == "conversation_not_found"
            assert "Ada" not in str(missing.value.body)
    assert sdk.conversations.retrieve(conv.id).metadata == {"secret": "alpha"}
    assert texts(sdk, conv.id) == [("user", "My name is Ada Lovelace.")]
