"""`/v1/dreams` through the OpenAI Python SDK's generic `client.post`/`get` on the live
server: the caller tells the service a few things, then dreams over them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

MODEL = "lukhas-matriz"
SAID = ["Anna lives in Lisbon and loves the sea.", "Anna is learning to sail in Lisbon.",
        "Bruno met Anna in Porto in May."]


def ended(client: openai.OpenAI, dream_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        got: dict[str, Any] = client.get(f"/dreams/{dream_id}", cast_to=object)  # type: ignore[arg-type]
        if got["status"] in ("completed", "failed", "cancelled", "incomplete"):
            return got
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_python_sdk_creates_follows_lists_and_deletes_a_dream(caller: openai.OpenAI) -> None:
    for text in SAID:
        caller.responses.create(model=MODEL, input=text)
    created: dict[str, Any] = caller.post("/dreams", cast_to=object, body={  # type: ignore[arg-type]
        "model": MODEL, "seed": "Anna and Lisbon", "constraints": {"max_scenarios": 2}})
    assert created["object"] == "dream" and created["status"] == "queued"
    done = ended(caller, created["id"])
    assert done["status"] == "completed"
    assert done["summary"]["memories"] == len(SAID)
    assert 1 <= len(done["scenarios"]) <= 2

    stream = caller.post("/dreams", cast_to=object, stream=True,  # type: ignore[arg-type]
                         stream_cls=openai.Stream[object],
                         body={"model": MODEL, "seed": "sailing", "stream": True})
    seen = [event for event in stream]
    assert seen[0]["type"] == "dream.queued"  # type: ignore[index]
    assert seen[-1]["type"] == "dream.completed"  # type: ignore[index]
    numbers = [e["sequence_number"] for e in seen]  # type: ignore[index]
    assert numbers == list(range(len(seen)))

    listed: dict[str, Any] = caller.get("/dreams", cast_to=object,  # type: ignore[arg-type]
                                        options={"params": {"limit": 1}})
    assert listed["object"] == "list" and listed["has_more"] and len(listed["data"]) == 1
    gone: dict[str, Any] = caller.delete(f"/dreams/{created['id']}", cast_to=object)  # type: ignore[arg-type]
    assert gone == {"id": created["id"], "object": "dream.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as missing:
        caller.get(f"/dreams/{created['id']}", cast_to=object)  # type: ignore[arg-type]
    assert missing.value.code == "dream_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        caller.post("/dreams", cast_to=object,  # type: ignore[arg-type]
                    body={"model": MODEL, "seed": "x", "dream_depth": 3})
    assert bad.value.param == "dream_depth" and bad.value.code == "unknown_parameter"


def test_a_dream_is_cancelled_through_the_sdk_or_has_already_ended(
        caller: openai.OpenAI, base_url: str) -> None:
    created: dict[str, Any] = caller.post("/dreams", cast_to=object,  # type: ignore[arg-type]
                                          body={"model": MODEL, "seed": "quick"})
    try:
        cancelled: dict[str, Any] = caller.post(  # type: ignore[arg-type]
            f"/dreams/{created['id']}/cancel", cast_to=object)
        assert cancelled["status"] == "cancelled"
    except openai.ConflictError as exc:  # the tick was quicker: it had already ended
        assert exc.code == "dream_ended"
    resumed = httpx.get(f"{base_url}/v1/dreams/{created['id']}",
                        params={"stream": "true", "starting_after": 0},
                        headers={"Authorization": f"Bearer {caller.api_key}"})
    assert "event: dream.queued" not in resumed.text, "events after 0 only"
    assert resumed.text.count("sequence_number") >= 1
