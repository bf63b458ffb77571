"""Probes and metrics, in-process with the lifespan running."""

from __future__ import annotations

import contextlib
import re

import httpx


async def test_healthz_needs_no_key_and_touches_nothing(app_client: httpx.AsyncClient) -> None:
    resp = await app_client.get("/healthz", headers={"Authorization": ""})
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}
    assert resp.headers["x-request-id"]


class _Fatal(BaseException):
    """What no engine guard catches."""


async def test_healthz_fails_when_the_tick_has_died(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    tick = state.tick
    loop_task = tick._task

    def explode(_events: object) -> None:
        raise _Fatal  # not an Exception: it escapes the engine guard and ends the loop

    tick._engines.append(explode)
    try:
        with contextlib.suppress(_Fatal):
            await loop_task
        resp = await app_client.get("/healthz")
        assert resp.status_code == 503
        assert resp.json()["checks"] == {"tick": "crashed"}
        assert resp.json()["error"]["code"] == "broken"
    finally:
        tick._engines.remove(explode)
        tick._task = None
        tick.start()
    assert (await app_client.get("/healthz")).status_code == 200


async def test_healthz_fails_once_the_pool_is_closed(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    await state.pool.close()
    resp = await app_client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["checks"] == {"pool": "closed"}


async def test_readyz_reports_each_check(app_client: httpx.AsyncClient) -> None:
    resp = await app_client.get("/readyz", headers={"Authorization": ""})
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"database": "ok", "migrations": "ok", "tick": "ok"}


async def test_readyz_is_503_naming_a_stalled_tick(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    await state.tick.stop()
    resp = await app_client.get("/readyz")
    assert resp.status_code == 503
    body = resp.json()
    assert body["checks"]["tick"] == "stalled"
    assert "tick" in body["error"]["message"]
    state.tick.start()


async def test_readyz_is_503_when_the_database_is_gone(app_client: httpx.AsyncClient) -> None:
    state = app_client.app.state.lukhas  # type: ignore[attr-defined]
    pool = state.pool
    await pool.close()
    resp = await app_client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["database"].startswith("unreachable")


async def test_incoming_request_id_is_kept(app_client: httpx.AsyncClient) -> None:
    resp = await app_client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    resp = await app_client.get("/healthz", headers={"x-request-id": "bad id\n"})
    assert resp.headers["x-request-id"].startswith("req_")


async def test_metrics_expose_pipeline_and_tick_without_ids(
    app_client: httpx.AsyncClient,
) -> None:
    done = await app_client.post("/v1/responses", json={"model": "lukhas-matriz",
                                                        "input": "What is 2+2?"})
    assert done.status_code == 200
    rid = done.json()["id"]
    await app_client.get(f"/v1/responses/{rid}")
    text = (await app_client.get("/metrics", headers={"Authorization": ""})).text
    for stage in ("memory", "attention", "thought", "risk", "intent", "action"):
        assert f'lukhas_matriz_stage_seconds_count{{lane="dev",stage="{stage}"}}' in text
    assert "lukhas_matriz_tick_seconds_count" in text
    assert "lukhas_matriz_tick_events_dropped_total" in text
    assert "http_request_duration_seconds" in text
    assert 'handler="/v1/responses/{response_id}"' in text
    assert rid not in text
    assert not re.search(r'="(resp|msg|rs|req)_[0-9a-f]{8,}', text), "no id in any label"


def _count(text: str, labels: str) -> float:
    found = re.search(r"^http_requests_total\{" + re.escape(labels) + r"\} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_http_metrics_label_route_templates_and_status_classes(
    app_client: httpx.AsyncClient,
) -> None:
    before = (await app_client.get("/metrics")).text
    assert (await app_client.get("/v1/models/lukhas-matriz")).status_code == 200
    assert (await app_client.get("/models")).status_code == 200  # the /v1-less alias
    assert (await app_client.get("/v1/models/no-such-model")).status_code == 404
    assert (await app_client.get("/v1/nowhere")).status_code == 404
    after = (await app_client.get("/metrics")).text
    cases = {'handler="/v1/models/{model_id}",method="GET",status="2xx"': 1,
             'handler="/v1/models",method="GET",status="2xx"': 1,
             'handler="/v1/models/{model_id}",method="GET",status="4xx"': 1,
             'handler="none",method="GET",status="4xx"': 1}
    for labels, added in cases.items():
        assert _count(after, labels) - _count(before, labels) == added, labels
    assert 'handler="/metrics"' not in after
    assert "nowhere" not in after and "no-such-model" not in after
