"""`POST /v1/admin/routing/preview`: the runtime's pick(), over HTTP, for admins only."""

from __future__ import annotations

import asyncio
import collections
import random
from pathlib import Path
from typing import Any

import httpx

from app.errors import APIError
from app.routing.config import FailureKind, RoutingConfig
from app.routing.cooldown import CooldownSnapshot, CooldownTracker
from app.routing.load import load_routing
from app.routing.pick import Caller, pick
from tests.routing.callers import routed_app, tier_headers
from tests.routing.files import base, write

PREVIEW = "/v1/admin/routing/preview"


def routing() -> dict[str, Any]:
    """Tiers, an alias, fallbacks two deep and an A/B split: every part of a plan."""
    data = base()
    data["fallbacks"] = {"chat": ["big", "small"], "big": ["small"]}
    data["retries"] = {"count": 2}
    data["ab"] = {"chat": {"salt": "s-2026", "buckets": {
        "control": {"percent": 70, "group": "chat"},
        "b-only": {"percent": 20, "deployment": {"upstream": "b", "model": "m-b"}},
        "big": {"percent": 10, "group": "big"}}}}
    return data


def expected(config: RoutingConfig, body: dict[str, Any], tier: str,
             cooldowns: CooldownSnapshot) -> tuple[int, dict[str, Any]]:
    """What pick() itself says for this request: the preview's body, or the runtime's error."""
    try:
        route = pick(config, body["model"], Caller(body["subject"], tier), cooldowns,
                     request_id=body.get("request_id", ""))
    except APIError as exc:
        return exc.status_code, exc.body()
    plain = route.as_dict()
    return 200, {"object": "routing.preview", **plain, "subject": body["subject"], "tier": tier,
                 "request_id": body.get("request_id", ""), "plan": list(plain["plan"]),
                 "cooling": list(plain["cooling"])}


async def test_the_preview_is_what_pick_gives(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    config = load_routing(path)  # read apart from the service's own copy
    draw = random.Random(9)
    models = [*config.model_ids(), "no-such-model"]
    async with routed_app(pg_url, tmp_path, path) as admin:
        seen: collections.Counter[int] = collections.Counter()
        for i in range(300):
            body = {"model": draw.choice(models), "subject": f"key_{draw.getrandbits(48):x}",
                    "tier": draw.choice(["T1", "T2", "T3"])}
            if i % 3:
                body["request_id"] = f"req_{draw.getrandbits(64):x}"
            resp = await admin.post(PREVIEW, json=body)
            status, answer = expected(config, body, body["tier"], CooldownSnapshot())
            assert (resp.status_code, resp.json()) == (status, answer), body
            seen[status] += 1
        assert seen[200] > 150 and seen[404] > 20  # both paths were drawn
        # Without `tier`, the caller's own (the API key's T3).
        body = {"model": "chat-latest", "subject": "key_1"}
        assert (await admin.post(PREVIEW, json=body)).json() == expected(
            config, body, "T3", CooldownSnapshot())[1]


async def test_the_preview_sees_the_live_cooldowns(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    config = load_routing(path)
    async with routed_app(pg_url, tmp_path, path) as admin:
        tracker = CooldownTracker()
        admin.app.state.lukhas.cooldowns = tracker  # type: ignore[attr-defined]
        for _ in range(config.cooldowns.failures):
            tracker.record_failure("a/m-a", FailureKind.SERVER_ERROR, config.cooldowns)
        body = {"model": "chat", "subject": "key_cool", "tier": "T2", "request_id": "r1"}
        resp = await admin.post(PREVIEW, json=body)
        assert resp.status_code == 200, resp.text
        assert resp.json() == expected(config, body, "T2", tracker.snapshot())[1]
        assert "a/m-a" in resp.json()["cooling"]
        assert "a/m-a" not in {a["deployment"] for a in resp.json()["plan"]}
        # Nothing left to serve `small`: the runtime's 503, retry-after and all.
        for _ in range(config.cooldowns.failures):
            tracker.record_failure("b/m-small", FailureKind.TIMEOUT, config.cooldowns)
        body = {"model": "small", "subject": "key_cool", "tier": "T2"}
        resp = await admin.post(PREVIEW, json=body)
        status, answer = expected(config, body, "T2", tracker.snapshot())
        assert (resp.status_code, resp.json()) == (status, answer) == (503, answer)
        assert answer["error"]["code"] == "model_unavailable"
        assert 1 <= int(resp.headers["retry-after"]) <= config.cooldowns.cooldown_seconds


async def test_ab_splits_through_the_preview_match_their_percentages(pg_url: str,
                                                                    tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        async def bucket(subject: str) -> str:
            resp = await admin.post(PREVIEW, json={"model": "chat", "subject": subject})
            assert resp.status_code == 200, resp.text
            return str(resp.json()["bucket"])

        subjects = [f"key_{random.Random(i).getrandbits(64):x}" for i in range(2000)]
        buckets: list[str] = []
        for start in range(0, len(subjects), 100):
            buckets += await asyncio.gather(*map(bucket, subjects[start:start + 100]))
        shares = {name: n / len(buckets) for name, n in collections.Counter(buckets).items()}
        # 2,000 draws: one standard deviation of a 10% share is 0.7 points; 3 points is > 4 sd.
        for name, percent in (("control", 70), ("b-only", 20), ("big", 10)):
            assert abs(shares[name] - percent / 100) < 0.03, shares
        # A caller stays in its bucket, whatever the request.
        for subject, first in list(zip(subjects, buckets, strict=True))[:20]:
            assert await bucket(subject) == first


async def test_only_admins_may_preview(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        for tier in ("T1", "T2"):
            resp = await admin.post(PREVIEW, headers=await tier_headers(admin, tier),
                                    json={"model": "chat", "subject": "key_1"})
            assert resp.status_code == 403, resp.text
            assert resp.json()["error"]["code"] == "insufficient_permissions"
        assert (await admin.post(PREVIEW, json={"model": "chat", "subject": "k"}
                                 )).status_code == 200


async def bad(admin: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = await admin.post(PREVIEW, json=body)
    assert resp.status_code == 400, resp.text
    return dict(resp.json()["error"])


async def test_bad_previews_are_400s_naming_the_field(pg_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "routing.yml", routing())
    async with routed_app(pg_url, tmp_path, path) as admin:
        error = await bad(admin, {"model": "chat", "subject": "k", "tier": "T9"})
        assert (error["param"], error["code"]) == ("tier", "invalid_value")
        error = await bad(admin, {"model": "chat", "subject": "k", "stream": True})
        assert error["param"] == "stream"
        error = await bad(admin, {"model": "chat"})
        assert (error["param"], error["code"]) == ("subject", "missing_required_parameter")
        error = await bad(admin, {"model": "lukhas-matriz", "subject": "k"})
        assert (error["param"], error["code"]) == ("model", "model_not_routed")


async def test_without_a_routing_file_every_model_is_not_found(pg_url: str,
                                                               tmp_path: Path) -> None:
    async with routed_app(pg_url, tmp_path, None) as admin:
        resp = await admin.post(PREVIEW, json={"model": "chat", "subject": "k"})
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "model_not_found"
