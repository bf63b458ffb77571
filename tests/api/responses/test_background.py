"""Background responses through the official OpenAI Python SDK, against the live server:
created `queued`, polled, streamed and resumed with `starting_after`, cancelled, owner-scoped.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import KEY_A, KEY_B
from tests.utils.app import running_app

UNFINISHED = ("queued", "in_progress")


def wait_done(client: openai.OpenAI, rid: str, timeout: float = 30.0) -> Any:
    """Poll until the response has ended; the statuses seen on the way and the last one."""
    deadline = time.monotonic() + timeout
    while True:
        got = client.responses.retrieve(rid)
        if got.status not in UNFINISHED:
            return got
        assert time.monotonic() < deadline, f"{rid} still {got.status}"
        time.sleep(0.05)


def test_background_answers_queued_at_once_and_completes(client: openai.OpenAI) -> None:
    created = client.responses.create(model="lukhas-matriz", input="What is 20+22?",
                                      background=True)
    assert created.status == "queued" and created.background is True
    assert created.output == [] and created.usage is None
    done = wait_done(client, created.id)
    assert done.status == "completed" and done.background is True
    assert "42" in done.output_text
    assert done.usage is not None and done.usage.output_tokens > 0
    items = list(client.responses.input_items.list(created.id))
    assert items and items[0].type == "message"


def test_background_needs_store(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="lukhas-matriz", input="Hi.", background=True,
                                store=False)
    assert err.value.param == "background"


def test_a_bad_background_request_is_a_400_at_once(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="no-such-model", input="Hi.", background=True)
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="lukhas-matriz", input="Hi.", background=True,
                                max_output_tokens=10**9)


def test_background_stream_then_resume_after_a_sequence_number(client: openai.OpenAI) -> None:
    stream = client.responses.create(model="lukhas-matriz", input="What is 6*7?",
                                     background=True, stream=True)
    events = list(stream)
    types = [e.type for e in events]
    assert types[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert events[0].response.status == "queued" and events[0].response.background
    assert [e.sequence_number for e in events] == list(range(len(events)))
    rid = events[0].response.id
    assert "42" in events[-1].response.output_text

    resumed = list(client.responses.retrieve(rid, stream=True, starting_after=3))
    assert [e.sequence_number for e in resumed] == list(range(4, len(events)))
    assert [e.model_dump() for e in resumed] == [e.model_dump() for e in events[4:]]
    whole = list(client.responses.retrieve(rid, stream=True))
    assert [e.type for e in whole] == types
    assert list(client.responses.retrieve(rid, stream=True,
                                          starting_after=len(events) - 1)) == []


def test_a_streaming_client_that_leaves_does_not_stop_the_response(
        base_url: str, client: openai.OpenAI) -> None:
    body = {"model": "lukhas-matriz", "input": "What is 9*9?", "background": True,
            "stream": True}
    headers = {"Authorization": f"Bearer {client.api_key}"}
    with httpx.stream("POST", f"{base_url}/v1/responses", json=body, headers=headers,
                      timeout=30) as resp:
        lines = resp.iter_lines()
        assert next(lines) == "event: response.created"
        data = next(lines)
    created = json.loads(data.removeprefix("data: "))
    assert created["response"]["status"] == "queued"
    done = wait_done(client, created["response"]["id"])
    assert done.status == "completed" and "81" in done.output_text


def test_cancel_rules(client: openai.OpenAI) -> None:
    done = wait_done(client, client.responses.create(
        model="lukhas-matriz", input="What is 1+1?", background=True).id)
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.cancel(done.id)
    assert "completed" in err.value.message
    plain = client.responses.create(model="lukhas-matriz", input="What is 1+2?")
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.cancel(plain.id)
    assert "background" in err.value.message
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_missing")


def test_background_responses_are_the_owners(base_url: str, client: openai.OpenAI) -> None:
    created = client.responses.create(model="lukhas-matriz", input="What is 3+4?",
                                      background=True)
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY_B, max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            list(other.responses.retrieve(created.id, stream=True))
        with pytest.raises(openai.NotFoundError):
            other.responses.cancel(created.id)
    assert wait_done(client, created.id).status == "completed"


async def _idle(background: Any) -> None:
    """Wait until this process holds no background response."""
    deadline = time.monotonic() + 30
    while background.held:
        assert time.monotonic() < deadline, "background responses still held"
        await asyncio.sleep(0.02)


async def test_rate_limit_counts_it_once_and_settles_its_tokens_when_it_ends(
        pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("window_seconds: 86400\ndefault: {requests: 100, tokens: 100000}\n"
                    "routes:\n  responses: {requests: 100, tokens: 5000}\n")
    async with running_app(pg_url, tmp_path, key=KEY_A, api_keys=KEY_A,
                           rate_limits_file=path) as limited:
        body = {"model": "lukhas-matriz", "input": "What is 2+2?", "background": True}
        first = await limited.post("/v1/responses", json=body)
        assert first.json()["status"] == "queued"
        requests_left = int(first.headers["x-ratelimit-remaining-requests"])
        estimate = 5000 - int(first.headers["x-ratelimit-remaining-tokens"])
        background = limited.app.state.lukhas.background  # type: ignore[attr-defined]
        await _idle(background)
        done = (await limited.get(f"/v1/responses/{first.json()['id']}")).json()
        assert done["status"] == "completed"
        used = done["usage"]["total_tokens"]
        second = await limited.post("/v1/responses", json=body)
        # One request for the creation and one for the poll: the run itself is not counted.
        assert int(second.headers["x-ratelimit-remaining-requests"]) == requests_left - 2
        # The run's tokens replaced the first call's estimate once it ended.
        remaining = int(second.headers["x-ratelimit-remaining-tokens"])
        assert remaining == pytest.approx(5000 - used - estimate, abs=2)
        await _idle(background)
        text = (await limited.get("/metrics")).text
        assert 'lukhas_background_responses_ended_total{outcome="completed"} 2.0' in text
        assert 'lukhas_background_responses{status="in_progress"} 0.0' in text


def test_bad_stream_parameters_are_400s(http: httpx.Client, client: openai.OpenAI) -> None:
    rid = client.responses.create(model="lukhas-matriz", input="What is 2+5?",
                                  background=True).id
    bad = http.get(f"/v1/responses/{rid}", params={"stream": "true", "starting_after": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "starting_after"
    assert http.post("/v1/responses/resp_missing/cancel").status_code == 404
    assert wait_done(client, rid).status == "completed"


def test_a_background_response_extends_its_conversation_and_chain(client: openai.OpenAI
                                                                   ) -> None:
    conv = client.conversations.create()
    first = client.responses.create(model="lukhas-matriz", input="My name is Ada Lovelace.",
                                    conversation=conv.id, background=True)
    assert wait_done(client, first.id).status == "completed"
    items = list(client.conversations.items.list(conv.id, order="asc"))
    assert items and items[0].type == "message"
    second = client.responses.create(model="lukhas-matriz", input="What is my name?",
                                     previous_response_id=first.id, background=True,
                                     store=True)
    done = wait_done(client, second.id)
    assert done.status == "completed" and "Ada" in done.output_text


def test_every_streamed_background_response_reaches_its_end(client: openai.OpenAI) -> None:
    # The run logs its last events while the response is already stored as completed: a
    # follower that reads in between must still send them.
    for i in range(30):
        events = list(client.responses.create(model="lukhas-matriz", input=f"What is {i}+1?",
                                              background=True, stream=True))
        assert events[-1].type == "response.completed", [e.type for e in events[-4:]]
        assert [e.sequence_number for e in events] == list(range(len(events)))
