"""Cooldowns: N failures in a window put a deployment out for T seconds, on an injected clock."""

from __future__ import annotations

from app.routing.config import Cooldowns, FailureKind
from app.routing.cooldown import CooldownTracker
from app.routing.load import parse_routing
from app.routing.pick import Caller, pick
from tests.routing.files import TIERS, base

POLICY = Cooldowns(failures=3, window_seconds=10, cooldown_seconds=30,
                   on_failures=(FailureKind.SERVER_ERROR, FailureKind.TIMEOUT))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_n_failures_in_the_window_put_a_deployment_out_then_it_comes_back() -> None:
    clock = Clock()
    tracker = CooldownTracker(clock)
    assert not tracker.record_failure("a/m", FailureKind.SERVER_ERROR, POLICY)
    clock.now += 1
    assert not tracker.record_failure("a/m", FailureKind.TIMEOUT, POLICY)
    assert not tracker.snapshot().is_cooling("a/m")
    clock.now += 1
    assert tracker.record_failure("a/m", FailureKind.SERVER_ERROR, POLICY)
    snapshot = tracker.snapshot()
    assert snapshot.is_cooling("a/m") and snapshot.remaining("a/m") == 30
    assert not snapshot.is_cooling("b/m"), "one deployment's failures are its own"
    clock.now += 29.5
    assert tracker.snapshot().is_cooling("a/m")
    clock.now += 0.5
    assert not tracker.snapshot().is_cooling("a/m")
    assert tracker.snapshot().until == {}, "expired cooldowns are dropped"


def test_failures_spread_wider_than_the_window_do_not_count_together() -> None:
    clock = Clock()
    tracker = CooldownTracker(clock)
    for _ in range(10):
        assert not tracker.record_failure("a/m", FailureKind.SERVER_ERROR, POLICY)
        clock.now += 5.01  # two failures per window at most
    assert not tracker.snapshot().is_cooling("a/m")


def test_only_the_listed_kinds_count() -> None:
    tracker = CooldownTracker(Clock())
    for _ in range(5):
        assert not tracker.record_failure("a/m", FailureKind.RATE_LIMITED, POLICY)
    assert not tracker.snapshot().is_cooling("a/m")


def test_failures_while_out_do_not_extend_the_cooldown() -> None:
    clock = Clock()
    tracker = CooldownTracker(clock)
    for _ in range(3):
        tracker.record_failure("a/m", FailureKind.SERVER_ERROR, POLICY)
    clock.now += 20
    for _ in range(3):  # late answers of requests sent before the cooldown
        assert not tracker.record_failure("a/m", FailureKind.SERVER_ERROR, POLICY)
    assert tracker.snapshot().remaining("a/m") == 10


def test_a_cooling_deployment_leaves_the_pick_and_returns() -> None:
    config = parse_routing(base(), TIERS)
    clock = Clock()
    tracker = CooldownTracker(clock)
    caller = Caller("key_alice", "T2")

    def deployments() -> set[str]:
        route = pick(config, "chat", caller, tracker.snapshot(), request_id="req_1")
        return {a.deployment for a in route.plan}

    assert "a/m-a" in deployments()
    for _ in range(config.cooldowns.failures):
        tracker.record_failure("a/m-a", FailureKind.CONNECT, config.cooldowns)
    assert "a/m-a" not in deployments()
    clock.now += config.cooldowns.cooldown_seconds
    assert "a/m-a" in deployments()
