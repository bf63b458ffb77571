"""A routed model through a real server process (uvicorn), with the synchronous OpenAI SDK:
streams cross real HTTP, and a caller that leaves mid-stream closes the upstream call."""

from __future__ import annotations

import time

import httpx
import openai

from tests.conftest import KEY_A
from tests.utils.mock_upstream import MockUpstream
from tests.utils.routed import LIVE_UPSTREAM_KEY as UPSTREAM_KEY
from tests.utils.server import ServerProcess


def test_streams_through_a_live_server(routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    server, upstream = routed_server
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY_A, max_retries=0) as sdk:
        with sdk.responses.stream(model="gpt-test", input="live and streamed") as stream:
            text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        assert text == "Echo: live and streamed"
        chunks = list(sdk.chat.completions.create(
            model="gpt-test", stream=True, messages=[{"role": "user", "content": "live chat"}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
            "Echo: live chat"
    assert upstream.last()["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_a_caller_leaving_mid_stream_closes_the_upstream_call(
        routed_server: tuple[ServerProcess, MockUpstream]) -> None:
    server, upstream = routed_server
    upstream.behave("slow", chunk_delay_ms=100)
    words = " ".join(f"word{i}" for i in range(60))
    headers = {"Authorization": f"Bearer {KEY_A}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", json={
                "model": "gpt-test", "stream": True,
                "messages": [{"role": "user", "content": words}]}) as answer:
            for line in answer.iter_lines():
                if '"content":"Echo' in line or '"content": "Echo' in line:
                    break  # the answer has started: leave
        cancelled = 'lukhas_upstream_requests_total{group="gpt-test",outcome="cancelled",' \
                    'upstream="a"} 1.0'
        for _ in range(100):  # a liveness bound (10 s), not a timing assertion
            if cancelled in http.get("/metrics").text:
                break
            time.sleep(0.1)
        assert cancelled in http.get("/metrics").text
