"""Bad input gets a 4xx in the OpenAI envelope; nothing gives a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import KEY_B


def assert_envelope(resp: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers.get("x-request-id")
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if param is not None:
        assert error["param"] == param
    return dict(error)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "lukhas-matriz", "input": ""}, "input"),
        ({"model": "lukhas-matriz", "input": []}, "input"),
        ({"model": "lukhas-matriz", "input": "   "}, "input"),
        ({"model": "lukhas-matriz"}, "input"),
        ({"input": "hi"}, "model"),
        ({"model": 42, "input": "hi"}, "model"),
        ({"model": "lukhas-matriz", "input": 42}, "input"),
        ({"model": "lukhas-matriz", "input": [{"role": "wizard", "content": "x"}]}, None),
        ({"model": "lukhas-matriz", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "lukhas-matriz", "input": "hi", "temperature": "hot"}, "temperature"),
        ({"model": "lukhas-matriz", "input": "hi", "metadata": {str(i): "v" for i in range(17)}},
         "metadata"),
        ({"model": "lukhas-matriz", "input": "hi", "metadata": {"k" * 65: "v"}}, "metadata"),
        ({"model": "lukhas-matriz", "input": "hi", "metadata": {"k": "v" * 513}}, "metadata"),
        ({"model": "lukhas-matriz", "input": "hi", "stream": "yes please"}, "stream"),
    ],
)
def test_invalid_responses_bodies_are_400(
    http: httpx.Client, body: dict[str, Any], param: str | None
) -> None:
    error = assert_envelope(http.post("/v1/responses", json=body), 400, param)
    assert error["type"] == "invalid_request_error"


def test_unknown_model_is_404(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", json={"model": "gpt-nope", "input": "hi"})
    assert assert_envelope(resp, 404, "model")["code"] == "model_not_found"
    resp = http.post("/v1/chat/completions",
                     json={"model": "gpt-nope", "messages": [{"role": "user", "content": "x"}]})
    assert assert_envelope(resp, 404)["code"] == "model_not_found"


def test_invalid_json_is_400(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", content=b'{"model": "lukhas-matriz", "input": ',
                     headers={"content-type": "application/json"})
    assert assert_envelope(resp, 400)["code"] == "invalid_json"


def test_one_megabyte_of_input_is_refused_cleanly(http: httpx.Client) -> None:
    big = "lorem ipsum dolor sit amet " * 40_000  # ~1 MB
    resp = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": big})
    assert assert_envelope(resp, 400, "input")["code"] == "context_length_exceeded"
    resp = http.post("/v1/chat/completions", json={
        "model": "lukhas-matriz", "messages": [{"role": "user", "content": big}]})
    assert assert_envelope(resp, 400, "input")["code"] == "context_length_exceeded"


def test_oversized_body_is_413(http: httpx.Client) -> None:
    huge = "x" * (5 * 1024 * 1024)
    resp = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": huge})
    assert assert_envelope(resp, 413)["code"] == "request_too_large"


def test_previous_response_of_another_caller_is_404(http: httpx.Client, base_url: str) -> None:
    mine = http.post("/v1/responses", json={"model": "lukhas-matriz",
                                            "input": "My name is Ada Lovelace."}).json()
    other = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY_B}"})
    with other:
        resp = other.post("/v1/responses", json={
            "model": "lukhas-matriz", "input": "What is my name?",
            "previous_response_id": mine["id"]})
        assert assert_envelope(resp, 404, "previous_response_id")
        assert "Ada" not in resp.text
        assert_envelope(other.get(f"/v1/responses/{mine['id']}"), 404)
        assert_envelope(other.get(f"/v1/responses/{mine['id']}/input_items"), 404)
        assert_envelope(other.delete(f"/v1/responses/{mine['id']}"), 404)
    assert http.get(f"/v1/responses/{mine['id']}").status_code == 200


def test_unknown_previous_response_is_404(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "hi",
                                            "previous_response_id": "resp_missing"})
    assert assert_envelope(resp, 404, "previous_response_id")["code"] == (
        "previous_response_not_found")


def test_unknown_fields_are_accepted(http: httpx.Client) -> None:
    resp = http.post("/v1/responses", json={
        "model": "lukhas-matriz", "input": "What is 1+1?", "some_future_field": {"x": 1},
        "prompt_cache_key": "abc", "safety_identifier": "u1"})
    assert resp.status_code == 200 and "2" in resp.text


def test_framework_errors_use_the_envelope(http: httpx.Client, base_url: str) -> None:
    assert_envelope(http.get("/v1/nothing-here"), 404)
    assert_envelope(http.put("/v1/responses"), 405)
    assert_envelope(httpx.get(f"{base_url}/v1/models"), 401)
    bad = httpx.get(f"{base_url}/v1/models", headers={"Authorization": "Bearer nope"})
    assert assert_envelope(bad, 401)["code"] == "invalid_api_key"


def test_chat_bad_bodies(http: httpx.Client) -> None:
    assert_envelope(http.post("/v1/chat/completions", json={"model": "lukhas-matriz",
                                                            "messages": []}), 400, "messages")
    assert_envelope(http.post("/v1/chat/completions", json={
        "model": "lukhas-matriz", "messages": [{"role": "user", "content": "hi"}], "n": 2}),
        400, "n")
    assert_envelope(http.post("/v1/chat/completions", json={
        "model": "lukhas-matriz", "messages": [{"role": "user"}]}), 400, "messages")


def test_input_items_bad_query(http: httpx.Client) -> None:
    rid = http.post("/v1/responses", json={"model": "lukhas-matriz", "input": "hi"}).json()["id"]
    assert_envelope(http.get(f"/v1/responses/{rid}/input_items", params={"limit": 0}), 400,
                    "limit")
    assert_envelope(http.get(f"/v1/responses/{rid}/input_items", params={"order": "up"}), 400,
                    "order")
    assert_envelope(http.get(f"/v1/responses/{rid}/input_items", params={"after": "msg_x"}),
                    400, "after")
