"""The Responses WebSocket on `/v1/responses` (Open Responses 2026-04-24, "WebSocket Transport"),
driven by the `websockets` client against the live server: the events SSE sends, continuation
on the socket (`store: false`) and from storage, eviction after a failed continuation, one
response at a time, the handshake's identity checks, rate limits, bad messages, and the
connection's time limit."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.api.responses.test_sse_golden import check_stream, stream
from tests.conftest import KEY_A, KEY_B
from tests.utils.mock_upstream import MockUpstream
from tests.utils.server import ServerProcess, start_uvicorn

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


@pytest.fixture
async def ahttp(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to the live server as caller A, without blocking the test's event loop."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {KEY_A}"}) as client:
        yield client


def ws_url(base_url: str, path: str = "/v1/responses") -> str:
    return base_url.replace("http://", "ws://") + path


@asynccontextmanager
async def socket(base_url: str, key: str | None = KEY_A,
                 path: str = "/v1/responses") -> AsyncIterator[ClientConnection]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    async with connect(ws_url(base_url, path), additional_headers=headers,
                       open_timeout=30) as ws:
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), 30)
    assert isinstance(message, str), "events are text messages"
    event: dict[str, Any] = json.loads(message)
    return event


async def turn(ws: ClientConnection, **body: Any) -> list[dict[str, Any]]:
    """Send one `response.create`; its events up to the terminal one, or the error alone."""
    await ws.send(json.dumps({"type": "response.create", "model": "lukhas-matriz", **body}))
    events = [await receive(ws)]
    while events[-1]["type"] not in (*TERMINAL, "error"):
        events.append(await receive(ws))
    return events


def completed(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "response.completed", events[-1]
    check_stream([(e["type"], e) for e in events], "response.completed")
    response: dict[str, Any] = events[-1]["response"]
    return response


def error_of(events: list[dict[str, Any]], status: int, code: str) -> dict[str, Any]:
    assert len(events) == 1, events
    event = events[0]
    assert event["type"] == "error" and event["status"] == status, event
    assert event["error"]["code"] == code, event
    assert set(event["error"]) >= {"message", "type", "param", "code"}
    return event


def answer(response: dict[str, Any]) -> str:
    return "".join(p["text"] for item in response["output"] if item["type"] == "message"
                   for p in item["content"] if p["type"] == "output_text")


async def test_a_turn_sends_the_events_of_a_streamed_http_response(
        base_url: str, http: httpx.Client) -> None:
    body = {"input": "What is 6*7?", "store": False}
    async with socket(base_url) as ws:
        assert ws.response is not None and ws.response.headers["x-request-id"]
        events = await turn(ws, **body)
    response = completed(events)
    assert "42" in answer(response) and response["store"] is False
    frames = await asyncio.to_thread(stream, http, {"model": "lukhas-matriz", **body})
    sse = [data for _, data in frames]
    assert [e["type"] for e in events] == [e["type"] for e in sse]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert set(events[-1]["response"]) == set(sse[-1]["response"])
    assert answer(events[-1]["response"]) == answer(sse[-1]["response"])


async def test_the_socket_serves_turn_after_turn_and_under_the_unprefixed_path(
        base_url: str) -> None:
    async with socket(base_url, path="/responses") as ws:
        first = completed(await turn(ws, input="What is 1+1?"))
        second = completed(await turn(ws, input="What is 2+2?"))
    assert first["id"] != second["id"]
    assert "2" in answer(first) and "4" in answer(second)


async def test_a_store_false_chain_continues_on_its_socket_only(
        base_url: str, ahttp: httpx.AsyncClient) -> None:
    codename = "Quill" + uuid.uuid4().hex[:8]
    async with socket(base_url) as ws:
        first = completed(await turn(ws, input=f"My project codename is {codename}.",
                                     store=False))
        second = completed(await turn(ws, input="What is my project codename?", store=False,
                                      previous_response_id=first["id"]))
        assert codename in answer(second)
        assert second["previous_response_id"] == first["id"]
        # The chain goes on from the socket's most recent response.
        third = completed(await turn(ws, input="What is my project codename?", store=False,
                                     previous_response_id=second["id"]))
        assert codename in answer(third)
    # Nothing was stored: not readable, and not continued, over HTTP or on another socket.
    assert (await ahttp.get(f"/v1/responses/{third['id']}")).status_code == 404
    over_http = await ahttp.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "hi", "previous_response_id": third["id"]})
    assert over_http.json()["error"]["code"] == "previous_response_not_found"
    async with socket(base_url) as other:
        error_of(await turn(other, input="hi", previous_response_id=third["id"]), 404,
                 "previous_response_not_found")


async def test_stored_responses_continue_as_over_http(base_url: str,
                                                      ahttp: httpx.AsyncClient) -> None:
    codename = "Stored" + uuid.uuid4().hex[:8]
    async with socket(base_url) as ws:
        first = completed(await turn(ws, input=f"My project codename is {codename}."))
    assert (await ahttp.get(f"/v1/responses/{first['id']}")).json()["status"] == "completed"
    continued = (await ahttp.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is my project codename?",
        "previous_response_id": first["id"]})).json()
    assert codename in answer(continued)
    async with socket(base_url) as ws:  # a new socket reads the chain from storage
        again = completed(await turn(ws, input="What is my project codename?",
                                     previous_response_id=continued["id"]))
    assert codename in answer(again)
    async with socket(base_url, key=KEY_B) as ws:  # another caller's id is not found
        error_of(await turn(ws, input="hi", previous_response_id=first["id"]), 404,
                 "previous_response_not_found")


async def test_a_failed_continuation_evicts_the_response_it_named(base_url: str) -> None:
    async with socket(base_url) as ws:
        first = completed(await turn(ws, input="My dog is called Rex.", store=False))
        failed = error_of(await turn(ws, input="hi", store=False, max_output_tokens=0,
                                     previous_response_id=first["id"]),
                          400, "invalid_value")
        assert failed["error"]["param"] == "max_output_tokens"
        gone = error_of(await turn(ws, input="What is my dog called?", store=False,
                                   previous_response_id=first["id"]),
                        404, "previous_response_not_found")
        assert gone["error"]["param"] == "previous_response_id"
        # A failure that names no previous response leaves the socket's response alone.
        kept = completed(await turn(ws, input="My cat is called Tom.", store=False))
        error_of(await turn(ws, input="hi", temperature=9), 400, "invalid_value")
        completed(await turn(ws, input="What is my cat called?", store=False,
                             previous_response_id=kept["id"]))


async def test_bad_messages_are_answered_and_the_socket_goes_on(base_url: str) -> None:
    async with socket(base_url) as ws:
        await ws.send("not json")
        assert (await receive(ws))["error"]["code"] == "invalid_json"
        await ws.send("[1, 2]")
        assert (await receive(ws))["error"]["code"] == "invalid_json"
        await ws.send(json.dumps({"type": "response.cancel"}))
        unknown = await receive(ws)
        assert unknown["status"] == 400 and unknown["error"]["param"] == "type"
        await ws.send(json.dumps({"model": "lukhas-matriz", "input": "hi"}))
        assert (await receive(ws))["error"]["code"] == "missing_required_parameter"
        for field, value in (("stream", True), ("stream", False), ("background", False),
                             ("stream_options", {}), ("stream_id", "lane"),
                             ("generate", False)):
            refused = error_of(await turn(ws, input="hi", **{field: value}), 400,
                               "unsupported_parameter")
            assert refused["error"]["param"] == field
        nul = error_of(await turn(ws, input=[{"role": "user", "content": "a\u0000b"}]), 400,
                       "invalid_value")
        assert nul["error"]["param"] == "input[0].content"
        error_of(await turn(ws), 400, "missing_required_parameter")
        too_large = error_of(await turn(ws, input="x" * 4 * 1024 * 1024), 413,
                             "request_too_large")  # LUKHAS_MAX_REQUEST_BYTES, as a body
        assert "4194304 bytes" in too_large["error"]["message"]
        error_of(await turn(ws, model="no-such-model", input="hi"), 404, "model_not_found")
        await ws.send(b'{"type": "response.create", "model": "lukhas-matriz", "input": "1+1"}')
        events = [await receive(ws)]
        while events[-1]["type"] not in TERMINAL:
            events.append(await receive(ws))
        completed(events)  # a binary message holding JSON is read too
        completed(await turn(ws, input="What is 3+3?", generate=True))


async def test_the_handshake_checks_the_caller(base_url: str,
                                              ahttp: httpx.AsyncClient) -> None:
    for key, code in ((None, "missing_api_key"), ("lk-wrong-key-000000000000", "invalid_api_key")):
        with pytest.raises(InvalidStatus) as refused:
            async with socket(base_url, key=key):
                pass
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body or b"")["error"]["code"] == code
    t1 = await ahttp.post("/v1/identity/tokens",
                          json={"realm": "LUKHAS", "zone": "eu", "tier": "T1"})
    with pytest.raises(InvalidStatus) as denied:
        async with socket(base_url, key=t1.json()["token"]):
            pass
    assert denied.value.response.status_code == 403
    error = json.loads(denied.value.response.body or b"")["error"]
    assert error["code"] == "insufficient_permissions" and "responses.write" in error["message"]
    bad_session = {"Authorization": f"Bearer {KEY_A}", "x-lukhas-session": "no spaces"}
    with pytest.raises(InvalidStatus) as invalid:
        async with connect(ws_url(base_url), additional_headers=bad_session):
            pass
    assert invalid.value.response.status_code == 400


async def test_one_response_at_a_time(routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    from tests.utils.routed import LIVE_UPSTREAM_KEY

    server, upstream = routed_server
    upstream.behave("slow", chunk_delay_ms=150, times=1)
    async with socket(server.base_url) as ws:
        create = {"type": "response.create", "model": "gpt-test", "input": "Say hello slowly."}
        await ws.send(json.dumps(create))
        first = [await receive(ws)]
        assert first[0]["type"] == "response.created"
        await ws.send(json.dumps({**create, "input": "And another."}))
        refused = None
        while first[-1]["type"] not in TERMINAL:
            event = await receive(ws)
            if event["type"] == "error":
                refused = event
            else:
                first.append(event)
        assert refused is not None and refused["status"] == 409
        assert refused["error"]["code"] == "response_already_in_flight"
        response = completed(first)  # the running response went on undisturbed
        assert answer(response) == "Echo: Say hello slowly."
        after = completed(await turn(ws, model="gpt-test", input="Now the next."))
        assert answer(after) == "Echo: Now the next."
    calls = upstream.requests("/v1/responses") or upstream.requests("/v1/chat/completions")
    assert len(calls) == 2, "the refused create never reached the upstream"
    assert all(c["headers"].get("authorization") == f"Bearer {LIVE_UPSTREAM_KEY}"
               for c in calls)


@pytest.fixture(scope="module")
def limited_server(pg_url: str, tmp_path_factory: pytest.TempPathFactory,
                   ) -> Iterator[ServerProcess]:
    """Two `responses` requests in two seconds, and ΛiD tokens held to their exact expiry."""
    data_dir = tmp_path_factory.mktemp("ws-limited")
    limits = Path(data_dir) / "limits.yaml"
    limits.write_text("window_seconds: 2\ndefault: {requests: 1000}\n"
                      "routes:\n  responses: {requests: 2, tokens: 100000}\n")
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_RATE_LIMITS_FILE": str(limits), "LUKHAS_LID_LEEWAY_SECONDS": "0"}
    server = start_uvicorn(env, data_dir / "server.log")
    yield server
    server.stop()


async def test_each_turn_counts_as_a_request(limited_server: ServerProcess) -> None:
    base = limited_server.base_url
    auth = {"Authorization": f"Bearer {KEY_A}"}
    async with (httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as http,
                socket(base) as ws):  # the upgrade itself is not counted
        first = completed(await turn(ws, input="What is 1+1?", store=False))
        over_http = await http.post("/v1/responses",
                                    json={"model": "lukhas-matriz", "input": "hi"})
        assert over_http.status_code == 200  # the second of the two
        limited = error_of(await turn(ws, input="hi", store=False,
                                      previous_response_id=first["id"]),
                           429, "rate_limit_exceeded")
        assert limited["error"]["type"] == "rate_limit_error"
        headers = limited["error"]["headers"]
        assert float(headers["retry-after"]) > 0 and int(headers["retry-after-ms"]) > 0
        assert headers["x-ratelimit-limit-requests"] == "2"
        # A refused continuation evicts the response it named, as any failed one does.
        await asyncio.sleep(float(headers["retry-after"]))
        error_of(await turn(ws, input="hi", store=False, previous_response_id=first["id"]),
                 404, "previous_response_not_found")


async def test_an_expired_token_ends_the_socket(limited_server: ServerProcess) -> None:
    base = limited_server.base_url
    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 headers={"Authorization": f"Bearer {KEY_A}"}) as http:
        minted = await http.post("/v1/identity/tokens", json={
            "realm": "LUKHAS", "zone": "eu", "tier": "T2", "ttl_seconds": 2})
    async with socket(base, key=minted.json()["token"]) as ws:
        await asyncio.sleep(2.5)
        error_of(await turn(ws, input="hi"), 401, "token_expired")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


@pytest.fixture(scope="module")
def short_lived_server(pg_url: str, tmp_path_factory: pytest.TempPathFactory,
                       ) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("ws-short")
    env = {"LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A,
           "LUKHAS_DATA_DIR": str(data_dir), "LUKHAS_LOG_LEVEL": "warning",
           "LUKHAS_WEBSOCKET_MAX_SECONDS": "1.5"}
    server = start_uvicorn(env, data_dir / "server.log")
    yield server
    server.stop()


async def test_the_connection_ends_at_its_time_limit(short_lived_server: ServerProcess) -> None:
    async with socket(short_lived_server.base_url) as ws:
        completed(await turn(ws, input="What is 5+5?"))
        limit = await receive(ws)  # nothing more is sent: the next message is the limit's
        assert limit["type"] == "error" and limit["status"] == 400
        assert limit["error"]["code"] == "websocket_connection_limit_reached"
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


async def test_the_openai_sdk_drives_the_socket(base_url: str) -> None:
    import openai

    codename = "Sdk" + uuid.uuid4().hex[:8]
    client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=KEY_A, max_retries=0)
    async with client, client.responses.connect() as connection:
        responses = []
        for text, previous in ((f"My project codename is {codename}.", None),
                               ("What is my project codename?", True)):
            await connection.send({
                "type": "response.create", "model": "lukhas-matriz", "input": text,
                "store": False,
                **({"previous_response_id": responses[-1].id} if previous else {})})
            async for event in connection:
                assert event.type != "error", event
                if event.type == "response.completed":
                    responses.append(event.response)
                    break
    assert codename in responses[1].output_text


@pytest.mark.node
def test_the_node_sdk_drives_the_socket(base_url: str) -> None:
    from tests.api.test_openai_node import run_sdk_check

    codename = "Node" + uuid.uuid4().hex[:8]
    out = run_sdk_check(base_url, KEY_A, "responses_ws_check.mjs", CODENAME=codename)
    second = out["second"]
    assert second["types"][0] == "response.created" and second["types"][-1] == "response.completed"
    assert second["sequence"] == list(range(len(second["types"])))
    assert codename in second["text"]
    assert out["refused"] == {"type": "error", "status": 400, "code": "unsupported_parameter",
                              "param": "stream"}
    assert out["sdk_errors"] == [out["sdk_errors"][0]] and "'stream'" in out["sdk_errors"][0]


async def test_a_response_under_way_at_the_time_limit_ends_first(
        pg_url: str, tmp_path: Path, mock_upstream_factory: Any) -> None:
    import yaml

    from tests.utils.routed import LIVE_UPSTREAM_KEY, UPSTREAM_KEY_ENV, routing

    upstream = mock_upstream_factory(api_key=LIVE_UPSTREAM_KEY)
    path = tmp_path / "routing.yml"
    path.write_text(yaml.safe_dump(routing(upstream.url)))
    server = start_uvicorn({
        "LUKHAS_DATABASE_URL": pg_url, "LUKHAS_API_KEYS": KEY_A, "LUKHAS_DATA_DIR": str(tmp_path),
        "LUKHAS_LOG_LEVEL": "warning", "LUKHAS_ROUTING_FILE": str(path),
        UPSTREAM_KEY_ENV: LIVE_UPSTREAM_KEY, "LUKHAS_WEBSOCKET_MAX_SECONDS": "1"},
        tmp_path / "server.log")
    try:
        upstream.behave("slow", chunk_delay_ms=250, times=1)
        async with socket(server.base_url) as ws:
            started = asyncio.get_running_loop().time()
            events = await turn(ws, model="gpt-test", input="one two three four five six")
            assert asyncio.get_running_loop().time() - started > 1, "the limit passed mid-way"
            assert answer(completed(events)) == "Echo: one two three four five six"
            limit = await receive(ws)
            assert limit["error"]["code"] == "websocket_connection_limit_reached"
            with pytest.raises(ConnectionClosed):
                await receive(ws)
    finally:
        server.stop()
