"""The raw bytes of a Responses stream, checked against what the SDK helpers require."""

from __future__ import annotations

import json
from typing import Any

import httpx


def parse_sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    frames = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln and not ln.startswith(":")]
        if not lines:
            continue
        event = next(ln[len("event: "):] for ln in lines if ln.startswith("event: "))
        data = "".join(ln[len("data: "):] for ln in lines if ln.startswith("data: "))
        frames.append((event, json.loads(data)))
    return frames


def stream(http: httpx.Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with http.stream("POST", "/v1/responses", json={**body, "stream": True}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = resp.read().decode()
    assert "[DONE]" not in raw
    return parse_sse(raw)


def check_stream(frames: list[tuple[str, dict[str, Any]]], terminal: str) -> dict[str, Any]:
    for name, data in frames:
        assert name == data["type"], "event name equals the JSON type"
        assert "error" not in data, "no top-level error key"
    types = [d["type"] for _, d in frames]
    assert [d["sequence_number"] for _, d in frames] == list(range(len(frames)))
    assert types[:2] == ["response.created", "response.in_progress"]
    assert frames[0][1]["response"]["output"] == []
    assert frames[1][1]["response"]["output"] == []
    assert types[-1] == terminal
    assert sum(t in ("response.completed", "response.incomplete", "response.failed")
               for t in types) == 1

    output: list[dict[str, Any]] = []
    for _, d in frames[2:-1]:
        t = d["type"]
        if t == "response.output_item.added":
            assert d["output_index"] == len(output)
            item = d["item"]
            assert item["id"] and item["id"] not in [o["id"] for o in output]
            if item["type"] == "message":
                assert item["content"] == []
            output.append(item)
        elif t == "response.output_item.done":
            assert output[d["output_index"]]["id"] == d["item"]["id"]
            assert output[d["output_index"]]["type"] == d["item"]["type"]
            output[d["output_index"]] = d["item"]
        else:
            assert d["item_id"] == output[d["output_index"]]["id"], t
            if t == "response.content_part.added":
                assert d["content_index"] == len(output[d["output_index"]]["content"])
                output[d["output_index"]]["content"].append(d["part"])
    final = frames[-1][1]["response"]
    assert final["output"] == output, "the terminal event carries exactly the streamed items"
    assert final["usage"]["input_tokens_details"] == {"cached_tokens": 0}
    assert "reasoning_tokens" in final["usage"]["output_tokens_details"]
    return dict(final)


def test_golden_event_order(http: httpx.Client) -> None:
    frames = stream(http, {"model": "lukhas-matriz", "input": "What is 2+2?"})
    types = [d["type"] for _, d in frames]
    assert types == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * types.count(
            "response.reasoning_summary_text.delta"),
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * types.count("response.output_text.delta"),
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    final = check_stream(frames, "response.completed")
    deltas = "".join(d["delta"] for _, d in frames if d["type"] == "response.output_text.delta")
    assert final["output"][1]["content"][0]["text"] == deltas
    assert "4" in deltas


def test_incomplete_stream_closes_the_message_first(http: httpx.Client) -> None:
    frames = stream(http, {"model": "lukhas-matriz", "input": "What is 2+2?",
                           "max_output_tokens": 30})
    final = check_stream(frames, "response.incomplete")
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output"][-1]["status"] == "incomplete"


def test_errors_before_the_stream_are_plain_http(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", json={"model": "nope", "input": "x", "stream": True})
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")


def test_replay_of_a_stored_response(http: httpx.Client) -> None:
    live = stream(http, {"model": "lukhas-matriz", "input": "What is 3*3?"})
    rid = live[0][1]["response"]["id"]
    with http.stream("GET", f"/v1/responses/{rid}", params={"stream": "true"}) as resp:
        replay = parse_sse(resp.read().decode())
    final = check_stream(replay, "response.completed")
    assert final == live[-1][1]["response"]
    with http.stream("GET", f"/v1/responses/{rid}",
                     params={"stream": "true", "starting_after": 5}) as resp:
        tail = parse_sse(resp.read().decode())
    assert tail[0][1]["sequence_number"] == 6
