"""The routing file's rules: one broken rule, one problem naming its key path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.routing.config import FailureKind, RoutingConfig, failure_kind
from app.routing.load import load_routing, parse_routing, parse_routing_bytes, parse_routing_text
from app.routing.problems import RoutingConfigError
from tests.routing.files import EXAMPLE, TIERS, base

Mutation = Callable[[dict[str, Any]], None]


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing(data, TIERS)
    return [str(p) for p in caught.value.problems]


def _set(path: str, value: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value
    return mutate


def _dep(group: str, i: int, **values: object) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["groups"][group]["deployments"][i].update(values)
    return mutate


def _ab(buckets: dict[str, Any], group: str = "chat") -> Mutation:
    return _set(f"ab.{group}", {"salt": "s1", "buckets": buckets})


CASES: list[tuple[str, Mutation, str]] = [
    ("unknown top-level key", _set("groupz", {}), "groupz: unknown key (known: version,"),
    ("unknown nested key", _set("upstreams.a.timeout", 5),
     "upstreams.a.timeout: unknown key (known: base_url, api_key_env,"),
    ("a key in the file", _set("upstreams.a.api_key", "x"),
     "upstreams.a.api_key: unknown key"),
    ("key-like literal", _set("upstreams.b.headers", {"X-Org": "sk-proj-abcdefghijklmnop"}),
     "upstreams.b.headers.X-Org: looks like a key or token"),
    ("bearer literal", _set("groups.chat.owned_by", "Bearer abcdefghijkl"),
     "groups.chat.owned_by: looks like a key or token"),
    ("api_key_env holds a key", _set("upstreams.a.api_key_env", "sk-abcdefghijklmnopqrst"),
     "upstreams.a.api_key_env: looks like a key or token"),
    ("api_key_env not a variable name", _set("upstreams.a.api_key_env", "my key"),
     "upstreams.a.api_key_env: string should match pattern"),
    ("base_url not http", _set("upstreams.a.base_url", "ftp://host/v1"),
     "upstreams.a.base_url: must be an http:// or https:// URL"),
    ("base_url with credentials", _set("upstreams.a.base_url", "http://u:p@host/v1"),
     "upstreams.a.base_url: holds credentials"),
    ("credential header", _set("upstreams.b.headers", {"Authorization": "x"}),
     "upstreams.b.headers.Authorization: credentials never go in this file"),
    ("header injection", _set("upstreams.b.headers", {"X-Org": "a\r\nX-Evil: 1"}),
     "upstreams.b.headers.X-Org: a header value may not hold control characters"),
    ("client header", _set("upstreams.b.headers", {"Host": "x"}),
     "upstreams.b.headers.Host: set by the HTTP client"),
    ("unknown api", _set("upstreams.a.api", "completions"), "upstreams.a.api: input should be"),
    ("keep-alive above max", _set("upstreams.a.pool", {"max_connections": 2,
                                                        "max_keepalive": 3}),
     "upstreams.a.pool.max_keepalive: may not exceed pool.max_connections"),
    ("bad upstream name", _set("upstreams.b c", {"base_url": "http://h"}),
     "upstreams['b c']: an upstream name is"),
    ("missing upstream", _dep("chat", 1, upstream="nope"),
     "groups.chat.deployments[1].upstream: no upstream named 'nope'"),
    ("weight zero", _dep("chat", 0, weight=0),
     "groups.chat.deployments[0].weight: input should be greater than 0"),
    ("weight negative", _dep("chat", 1, weight=-2),
     "groups.chat.deployments[1].weight: input should be greater than 0"),
    ("duplicate deployment", _dep("chat", 1, upstream="a", model="m-a"),
     "groups.chat.deployments[1]: a/m-a is already a deployment of this group"),
    ("no deployments", _set("groups.chat.deployments", []),
     "groups.chat.deployments: tuple should have at least 1 item"),
    ("unknown tier", _set("groups.chat.tiers", ["T2", "T9"]),
     "groups.chat.tiers[1]: unknown tier 'T9' (known: T1, T2, T3)"),
    ("missing context window", lambda d: d["groups"]["chat"].pop("context_window_tokens"),
     "groups.chat.context_window_tokens: field required"),
    ("output ≥ window", _set("groups.small.max_output_tokens", 8000),
     "groups.small.max_output_tokens: must be smaller than context_window_tokens"),
    ("memory too big", _set("groups.small.memory", {"max_tokens": 7000}),
     "groups.small.memory.max_tokens: memory and max_output_tokens together exceed"),
    ("memory recall not a bool", _set("groups.small.memory", {"recall": "yes"}),
     "groups.small.memory.recall: input should be a valid boolean"),
    ("built-in group", _set("groups.lukhas-matriz", base()["groups"]["big"]),
     "groups.lukhas-matriz: 'lukhas-matriz' is a built-in model id"),
    ("built-in alias", _set("aliases.lukhas-matriz", "chat"),
     "aliases.lukhas-matriz: 'lukhas-matriz' is a built-in model id"),
    ("model id with a slash", _set("groups.meta/llama", {
        "context_window_tokens": 8000, "deployments": [{"upstream": "zz", "model": "x"}]}),
     "groups['meta/llama'].deployments[0].upstream: no upstream named 'zz'"),
    ("alias shadows a group", _set("aliases.big", "chat"), "aliases.big: shadows the group"),
    ("alias to nothing", _set("aliases.x", "nope"), "aliases.x: no group named 'nope'"),
    ("alias to an alias", _set("aliases.x", "chat-latest"),
     "aliases.x: no group named 'chat-latest' (an alias names a group, not another alias)"),
    ("ab of no group", _ab({"a": {"percent": 100, "group": "chat"}}, group="nope"),
     "ab.nope: no group named 'nope' to split"),
    ("ab shares", _ab({"a": {"percent": 60, "group": "chat"},
                       "b": {"percent": 30, "group": "big"}}),
     "ab.chat.buckets: percentages add up to 90, not 100"),
    ("ab three decimals", _ab({"a": {"percent": 50.005, "group": "chat"},
                               "b": {"percent": 49.995, "group": "big"}}),
     "ab.chat.buckets.a.percent: at most two decimals"),
    ("ab bucket names both", _ab({"a": {"percent": 100, "group": "big",
                                        "deployment": {"upstream": "a", "model": "x"}}}),
     "ab.chat.buckets.a: names either a group or a deployment"),
    ("ab bucket names none", _ab({"a": {"percent": 100}}),
     "ab.chat.buckets.a: names either a group or a deployment"),
    ("ab bucket group missing", _ab({"a": {"percent": 100, "group": "nope"}}),
     "ab.chat.buckets.a.group: no group named 'nope'"),
    ("ab bucket upstream missing", _ab({"a": {"percent": 100,
                                              "deployment": {"upstream": "q", "model": "x"}}}),
     "ab.chat.buckets.a.deployment.upstream: no upstream named 'q'"),
    ("ab bucket smaller window", _ab({"a": {"percent": 100, "group": "small"}}),
     "ab.chat.buckets.a.group: has a smaller context window"),
    ("ab bucket fewer tiers", [_set("groups.big.tiers", ["T3"]),
                               _ab({"a": {"percent": 100, "group": "big"}})],
     "ab.chat.buckets.a.group: allows fewer tiers than the group it splits"),
    ("fallback of no group", _set("fallbacks.nope", ["chat"]),
     "fallbacks.nope: no group named 'nope'"),
    ("fallback to nothing", _set("fallbacks.chat", ["big", "nope"]),
     "fallbacks.chat[1]: no group named 'nope'"),
    ("fallback to itself", _set("fallbacks.chat", ["chat"]),
     "fallbacks.chat[0]: a group cannot fall back to itself"),
    ("fallback listed twice", _set("fallbacks.chat", ["big", "big"]),
     "fallbacks.chat[1]: 'big' is already listed"),
    ("fallback cycle", [_set("fallbacks.big", ["small"]), _set("fallbacks.small", ["chat"])],
     "fallbacks.chat: fallback cycle: chat → big → small → chat"),
    ("unknown failure kind", _set("retries.on_failures", [429, "400"]),
     "retries.on_failures[1]: input should be '429', '5xx', 'connect' or 'timeout'"),
    ("negative retries", _set("retries.count", -1),
     "retries.count: input should be greater than or equal to 0"),
    ("backoff cap below base", _set("retries.backoff", {"base_seconds": 2, "cap_seconds": 1}),
     "retries.backoff.cap_seconds: may not be smaller than base_seconds"),
    ("cooldown failures zero", _set("cooldowns.failures", 0),
     "cooldowns.failures: input should be greater than or equal to 1"),
    ("deadline zero", _set("deadline_seconds", 0),
     "deadline_seconds: input should be greater than 0"),
    ("deadline a string", _set("deadline_seconds", "60"),
     "deadline_seconds: input should be a valid number"),
    ("unknown version", _set("version", 2), "version: input should be 1"),
]


@pytest.mark.parametrize(("mutation", "expected"), [(m, e) for _, m, e in CASES],
                         ids=[name for name, _, _ in CASES])
def test_each_rule_names_its_key_path(mutation: Mutation | list[Mutation],
                                      expected: str) -> None:
    data = base()
    for mutate in mutation if isinstance(mutation, list) else [mutation]:
        mutate(data)
    problems = _problems(data)
    assert any(p.startswith(expected) for p in problems), problems
    section = expected.split(".")[0].split(":")[0]
    assert all(p.startswith(section) for p in problems), f"nothing else is reported: {problems}"


def test_the_base_file_and_the_example_are_valid() -> None:
    config = parse_routing(base(), TIERS)
    assert config.group_of("chat-latest") == "chat" and config.group_of("nope") is None
    example = load_routing(EXAMPLE, TIERS)
    assert "gpt-4o" in example.groups and example.retries.on_failures == tuple(FailureKind)


def test_every_problem_is_reported_at_once() -> None:
    data = base()
    _dep("chat", 1, upstream="nope")(data)
    _set("aliases.big", "chat")(data)
    _set("fallbacks.chat", ["chat"])(data)
    assert len(_problems(data)) == 3


def test_a_key_is_never_repeated_in_a_problem() -> None:
    secret = "sk-abcdefghijklmnopqrstuvwx"
    data = base()
    _set("upstreams.a.api_key_env", secret)(data)
    _set("upstreams.b.headers", {"X-Key": secret})(data)
    problems = _problems(data)
    assert len(problems) >= 2 and not any(secret in p for p in problems)


def test_yaml_booleans_as_keys_get_a_hint() -> None:
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing_text("retries:\n  on: [429]\n", TIERS)
    assert str(caught.value.problems[0]).startswith("retries.true: unknown key")
    assert "quote the key" in str(caught.value.problems[0])


def test_a_file_that_is_not_utf8() -> None:
    with pytest.raises(RoutingConfigError, match="byte 8: not UTF-8"):
        parse_routing_bytes(b"groups: \xff\n", TIERS)


def test_failure_kinds_of_statuses() -> None:
    assert [failure_kind(s) for s in (429, 500, 503, 599, 400, 401, 404, 200)] == [
        FailureKind.RATE_LIMITED, *[FailureKind.SERVER_ERROR] * 3, None, None, None, None]
    retries = parse_routing({**base(), "retries": {"on_failures": ["timeout", 429]}},
                            TIERS).retries
    assert retries.retryable(FailureKind.RATE_LIMITED) and retries.retryable(FailureKind.TIMEOUT)
    assert not retries.retryable(FailureKind.SERVER_ERROR) and not retries.retryable(None)


@pytest.mark.parametrize(("text", "expected"), [
    ("groups: {}\ngroups: {}\n", "line 2, column 1: not valid YAML: duplicate key 'groups'"),
    ("groups: [\n", "line 2, column 1: not valid YAML"),
    ("- a\n- b\n", "the file must be a YAML mapping"),
    ("", "the file must be a YAML mapping"),
])
def test_the_file_itself(text: str, expected: str) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        parse_routing_text(text, TIERS)
    assert str(caught.value.problems[0]).startswith(expected), caught.value.problems


def test_the_config_cannot_be_changed_in_place() -> None:
    config = parse_routing(base(), TIERS)
    with pytest.raises(ValueError, match="frozen"):
        config.deadline_seconds = 1  # type: ignore[misc]
    assert isinstance(config, RoutingConfig)


def test_the_docs_show_the_example_as_it_is() -> None:
    docs = (EXAMPLE.parents[1] / "docs" / "routing.md").read_text()
    assert f"```yaml\n{EXAMPLE.read_text()}```" in docs
