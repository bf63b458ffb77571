"""Running mock upstreams: several at once, as a child process, and their control API."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import openai

from tests.utils.mock_upstream import MockUpstream, running_mock_upstream

HI = [{"role": "user", "content": "hi"}]


def test_two_upstreams_at_once_keep_their_own_state(
        mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    first = mock_upstream_factory(models=["vllm-model"])
    second = mock_upstream_factory(models=["ollama-model"], api_key="k2")
    assert first.url != second.url
    second.behave("unavailable")
    with openai.OpenAI(base_url=first.url, api_key="x", max_retries=0) as a, \
            openai.OpenAI(base_url=second.url, api_key="k2", max_retries=0) as b:
        assert a.chat.completions.create(model="vllm-model", messages=HI).choices  # type: ignore[arg-type]
        try:
            b.chat.completions.create(model="ollama-model", messages=HI)  # type: ignore[arg-type]
        except openai.InternalServerError as exc:
            assert exc.status_code == 503
        else:
            raise AssertionError("the scripted 503 did not happen")
    assert first.counts() == {"/v1/chat/completions": 1}
    assert second.counts() == {"/v1/chat/completions": 1}


def test_as_a_child_process(mock_upstream_factory: Callable[..., MockUpstream]) -> None:
    upstream = mock_upstream_factory(process=True, models=["proc-model"], api_key="pk",
                                     record=False)
    assert upstream.control()["config"]["models"] == ["proc-model"]
    upstream.behave("reply", reply="from a process")
    with openai.OpenAI(base_url=upstream.url, api_key="pk", max_retries=0) as client:
        done = client.chat.completions.create(model="proc-model", messages=HI)  # type: ignore[arg-type]
    assert done.choices[0].message.content == "from a process"
    assert upstream.counts() == {"/v1/chat/completions": 1}
    assert upstream.requests() == []  # --no-record keeps counters only


def test_request_log_reset_and_plain_http(mock_upstream: MockUpstream) -> None:
    mock_upstream.configure(log_size=2)
    with httpx.Client(base_url=mock_upstream.base_url) as http:
        for word in ("a", "b", "c"):  # also without the /v1 prefix, as LiteLLM serves it
            http.post("/chat/completions?x=1", json={"model": "mock-gpt", "messages": [
                {"role": "user", "content": word}]}, headers={"OpenAI-Project": "p1"})
        logged = mock_upstream.requests()
        assert [r["body"]["messages"][0]["content"] for r in logged] == ["b", "c"]
        assert logged[-1]["path"] == "/v1/chat/completions" and logged[-1]["query"] == "x=1"
        assert logged[-1]["headers"]["openai-project"] == "p1"
        assert mock_upstream.counts() == {"/v1/chat/completions": 3}
        broken = http.post("/v1/chat/completions", content=b"{not json",
                           headers={"content-type": "application/json"})
        assert broken.status_code == 400 and broken.json()["error"]["type"]
        assert http.get("/v1/nothing").status_code == 404
        assert http.get("/v1/chat/completions").status_code == 405
        assert http.get("/__nothing").status_code == 404
        assert broken.headers["x-request-id"].startswith("req_")
    mock_upstream.reset()
    assert mock_upstream.counts() == {} and mock_upstream.requests() == []
    assert mock_upstream.control()["config"]["log_size"] == 200


def test_stopping_ends_a_request_that_still_hangs() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    with running_mock_upstream(models=["m"]) as upstream:
        upstream.behave("hang")
        client = socket.create_connection(("127.0.0.1", upstream.port))
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                       b"content-type: application/json\r\ncontent-length: "
                       + str(len(body)).encode() + b"\r\n\r\n" + body)
        while upstream.counts() != {"/v1/chat/completions": 1}:
            time.sleep(0.01)
    assert not upstream.running
    client.settimeout(5)
    with client:
        answer = client.recv(1024)
    # uvicorn's own answer to a request its app abandoned; the hang itself never answered
    assert answer.startswith(b"HTTP/1.1 500 ") and answer.endswith(b"Internal Server Error")
