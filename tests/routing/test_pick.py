"""The pick function: model lookup, tiers, A/B buckets, weights, cooldowns, plans."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from app.errors import NotFound, ServiceUnavailable
from app.routing.config import RoutingConfig
from app.routing.cooldown import CooldownSnapshot
from app.routing.errors import AllCoolingDown, ModelNotFound, TierNotAllowed
from app.routing.load import parse_routing
from app.routing.pick import Caller, Route, ab_bucket, pick
from tests.routing.files import TIERS, base

NONE_COOLING = CooldownSnapshot()
T2 = Caller("key_alice", "T2")


def _config(data: dict[str, Any] | None = None) -> RoutingConfig:
    return parse_routing(data if data is not None else base(), TIERS)


def _route(config: RoutingConfig, model: str = "chat", caller: Caller = T2,
           cooling: CooldownSnapshot = NONE_COOLING, request_id: str = "req_1",
           **kwargs: Any) -> Route:
    return pick(config, model, caller, cooling, request_id=request_id, **kwargs)


def _split(buckets: dict[str, Any], salt: str = "exp-1") -> RoutingConfig:
    data = base()
    data["ab"] = {"chat": {"salt": salt, "buckets": buckets}}
    return _config(data)


def test_an_unknown_model_is_openais_404() -> None:
    with pytest.raises(ModelNotFound) as caught:
        _route(_config(), "gpt-5")
    assert caught.value.status_code == 404
    assert caught.value.body() == {"error": {
        "message": "The model 'gpt-5' does not exist or you do not have access to it.",
        "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}


def test_a_tier_not_allowed_looks_like_an_unknown_model() -> None:
    config = _config()
    with pytest.raises(TierNotAllowed) as refused:
        _route(config, "chat", Caller("key_bob", "T1"))
    with pytest.raises(ModelNotFound) as missing:
        _route(config, "chat-nope", Caller("key_bob", "T1"))
    assert isinstance(refused.value, NotFound) and refused.value.status_code == 404
    assert refused.value.body()["error"]["code"] == missing.value.body()["error"]["code"]
    assert (refused.value.reason, missing.value.reason) == ("tier_not_allowed",
                                                            "model_not_found")
    assert _route(config, "big", Caller("key_bob", "T1")).group == "big", "no tiers: every tier"


def test_an_alias_routes_to_its_group() -> None:
    route = _route(_config(), "chat-latest")
    assert (route.model, route.group) == ("chat-latest", "chat")


def test_the_plan_tries_the_group_then_its_fallbacks_with_retries() -> None:
    route = _route(_config())
    assert [(a.group, a.fallback) for a in route.plan] == [("chat", 0), ("chat", 0),
                                                           ("big", 1), ("big", 1)]
    assert {a.deployment for a in route.plan[:2]} == {"a/m-a", "b/m-b"}, "each once first"
    assert [a.retry for a in route.plan] == [0, 0, 0, 1], "the lone deployment tried again"
    assert route.plan[2].upstream == "c" and route.plan[2].model == "m-c"


def test_fallbacks_keep_their_order_then_follow_theirs() -> None:
    data = base()
    data["retries"] = {"count": 0}
    data["groups"]["d"] = {"context_window_tokens": 8000, "max_output_tokens": 100,
                           "deployments": [{"upstream": "a", "model": "m-d"}]}
    data["groups"]["t3-only"] = {"context_window_tokens": 8000, "max_output_tokens": 100,
                                 "tiers": ["T3"],
                                 "deployments": [{"upstream": "a", "model": "m-t3"}]}
    data["fallbacks"] = {"chat": ["big", "t3-only", "small"], "big": ["d", "small"]}
    route = _route(_config(data))
    assert [a.group for a in route.plan][1:] == ["big", "small", "d"]
    t3_route = _route(_config(data), caller=Caller("key_carol", "T3"))
    assert [a.group for a in t3_route.plan][1:] == ["big", "t3-only", "small", "d"]


def test_the_deadline_is_carried_in_the_route() -> None:
    assert _route(_config()).deadline_seconds == 45.0


def test_the_same_request_gets_the_same_route() -> None:
    config = _config()
    first = _route(config, request_id="req_42")
    assert all(_route(config, request_id="req_42") == first for _ in range(20))


def test_weighted_picks_follow_the_weights() -> None:
    data = base()
    data["groups"]["chat"]["deployments"] = [
        {"upstream": "a", "model": "m-a", "weight": 5}, {"upstream": "b", "model": "m-b",
                                                        "weight": 3},
        {"upstream": "c", "model": "m-c", "weight": 2}]
    config = _config(data)
    draws = 10_000
    firsts = Counter(_route(config, request_id=f"req_{i}").plan[0].deployment
                     for i in range(draws))
    for deployment, share in {"a/m-a": 0.5, "b/m-b": 0.3, "c/m-c": 0.2}.items():
        assert firsts[deployment] / draws == pytest.approx(share, abs=0.02), firsts


def test_ab_shares_match_the_percentages_and_a_subject_keeps_its_bucket() -> None:
    config = _split({"control": {"percent": 50, "group": "chat"},
                     "big": {"percent": 30, "group": "big"},
                     "one": {"percent": 20, "deployment": {"upstream": "c", "model": "x"}}})
    subjects = [f"key_{i}" for i in range(10_000)]
    buckets = {s: _route(config, caller=Caller(s, "T2")).bucket for s in subjects}
    shares = Counter(buckets.values())
    for bucket, percent in {"control": 50, "big": 30, "one": 20}.items():
        assert shares[bucket] / len(subjects) * 100 == pytest.approx(percent, abs=1.5), shares
    for subject in subjects[:500]:  # a new request, another request id: the same bucket
        again = _route(config, caller=Caller(subject, "T2"), request_id="req_other")
        assert again.bucket == buckets[subject]


def test_the_bucket_comes_from_salt_and_subject_only() -> None:
    one = _split({"x": {"percent": 50, "group": "chat"}, "y": {"percent": 50, "group": "big"}})
    other_salt = _split({"x": {"percent": 50, "group": "chat"},
                         "y": {"percent": 50, "group": "big"}}, salt="exp-2")
    subjects = [f"key_{i}" for i in range(2000)]
    moved = sum(ab_bucket(one.ab["chat"], s) != ab_bucket(other_salt.ab["chat"], s)
                for s in subjects)
    assert 0.4 < moved / len(subjects) < 0.6, "a new salt reshuffles about half"


def test_a_bucket_serves_then_falls_back_to_the_split_group() -> None:
    config = _split({"one": {"percent": 100, "deployment": {"upstream": "c", "model": "x"}}})
    route = _route(config)
    assert route.bucket == "one" and route.group == "chat"
    assert [a.deployment for a in route.plan][:2] == ["c/x", "c/x"]
    assert [a.group for a in route.plan][2:] == ["chat", "chat", "big", "big"]
    to_group = _split({"big": {"percent": 100, "group": "big"}})
    assert [a.group for a in _route(to_group).plan] == ["big", "big", "chat", "chat"]


def test_cooling_deployments_are_left_out() -> None:
    config = _config()
    cooling = CooldownSnapshot(now=100.0, until={"a/m-a": 130.0})
    route = _route(config, cooling=cooling)
    assert "a/m-a" not in {a.deployment for a in route.plan}
    assert route.cooling == ("a/m-a",)
    assert [a.deployment for a in route.plan] == ["b/m-b", "b/m-b", "c/m-c", "c/m-c"]
    expired = CooldownSnapshot(now=130.0, until={"a/m-a": 130.0})
    assert "a/m-a" in {a.deployment for a in _route(config, cooling=expired).plan}


def test_everything_cooling_is_a_503_with_retry_after() -> None:
    cooling = CooldownSnapshot(now=10.0, until={"a/m-a": 40.0, "b/m-b": 12.5, "c/m-c": 25.0})
    with pytest.raises(AllCoolingDown) as caught:
        _route(_config(), cooling=cooling)
    assert isinstance(caught.value, ServiceUnavailable) and caught.value.status_code == 503
    assert caught.value.headers["retry-after"] == "3"
    assert caught.value.body()["error"]["code"] == "model_unavailable"


def test_a_repick_puts_tried_deployments_last() -> None:
    config = _config()
    for i in range(50):
        route = _route(config, request_id=f"req_{i}", tried={"a/m-a"})
        assert route.plan[0].deployment == "b/m-b"
