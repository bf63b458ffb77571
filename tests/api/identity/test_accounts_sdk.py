"""A person's login, then the official OpenAI Python SDK with the token as its `api_key`,
against the live server."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.utils.accounts import PASSWORD, away_from_step_edge, code_at, username


def test_login_token_works_as_the_sdks_api_key(http: httpx.Client, base_url: str) -> None:
    name = username("sdk")
    account = http.post("/v1/identity/accounts", json={"username": name,
                                                      "password": PASSWORD}).json()
    t1 = http.post("/v1/identity/authenticate",
                   json={"username": name, "password": PASSWORD}).json()
    holder = {"Authorization": f"Bearer {t1['token']}"}
    away_from_step_edge()
    secret = http.post("/v1/identity/totp", headers=holder).json()["secret"]
    confirmed = http.post("/v1/identity/totp/confirm", headers=holder,
                          json={"code": code_at(secret, -1)})
    assert confirmed.status_code == 200, confirmed.text

    with openai.OpenAI(api_key="unused", base_url=f"{base_url}/v1", max_retries=0) as anon:
        # The login itself through the SDK's generic request helper.
        t2: dict[str, Any] = anon.post("/identity/authenticate", cast_to=dict[str, Any], body={
            "username": name, "password": PASSWORD, "totp_code": code_at(secret)})
        with pytest.raises(openai.AuthenticationError) as failed:
            anon.post("/identity/authenticate", cast_to=dict[str, Any],
                      body={"username": name, "password": "wrong password, surely"})
        assert failed.value.code == "invalid_credentials"
    assert (t2["tier"], t2["account_id"]) == ("T2", account["id"])

    with openai.OpenAI(api_key=t2["token"], base_url=f"{base_url}/v1", max_retries=0) as c:
        response = c.responses.create(model="lukhas-matriz", input="What is 6 * 7?")
        assert response.status == "completed" and "42" in response.output_text
    with openai.OpenAI(api_key=t1["token"], base_url=f"{base_url}/v1", max_retries=0) as c:
        with pytest.raises(openai.PermissionDeniedError) as denied:
            c.responses.create(model="lukhas-matriz", input="hi")
        assert "responses.write" in denied.value.message


def _throttled_logins(http: httpx.Client) -> float:
    line = 'lukhas_auth_failures_total{outcome="throttled",surface="password"} '
    for text in http.get("/metrics").text.splitlines():
        if text.startswith(line):
            return float(text.split()[-1])
    return 0.0


def test_the_sdk_does_not_retry_a_throttled_login(http: httpx.Client, base_url: str) -> None:
    name = username("guessed")
    body = {"username": name, "password": "one guess after another"}
    with openai.OpenAI(api_key="unused", base_url=f"{base_url}/v1", max_retries=2) as sdk:
        for _ in range(5):  # LUKHAS_AUTH_THROTTLE_KEY_FAILURES, by default
            with pytest.raises(openai.AuthenticationError):
                sdk.post("/identity/authenticate", cast_to=dict[str, Any], body=body)
        before = _throttled_logins(http)
        with pytest.raises(openai.RateLimitError) as limited:
            sdk.post("/identity/authenticate", cast_to=dict[str, Any], body=body)
    assert limited.value.code == "too_many_failed_attempts"
    assert limited.value.response.headers["x-should-retry"] == "false"
    assert _throttled_logins(http) == before + 1  # one request: the SDK did not retry it
