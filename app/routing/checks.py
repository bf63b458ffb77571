"""Checks across sections of a routing file, and the lint against keys written into it."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from urllib.parse import urlsplit

from app.embeddings.hashing import MODEL_ID as HASH_EMBEDDING_ID
from app.embeddings.minilm import MODEL_ID as MINILM_ID
from app.matriz.providers.builtin import MODEL_ID as BUILTIN_ID
from app.routing.config import Group, RoutingConfig
from app.routing.problems import Problem, key_path

# Ids served without the routing file; the file may not redefine them.
RESERVED_MODEL_IDS = frozenset({BUILTIN_ID, HASH_EMBEDDING_ID, MINILM_ID})
_UPSTREAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key",
                                 "cookie", "x-goog-api-key", "anthropic-api-key"})
_CLIENT_HEADERS = frozenset({"host", "content-length", "content-type", "connection",
                             "transfer-encoding", "accept-encoding", "keep-alive", "upgrade"})
# Shapes of keys and tokens as their issuers print them. A match anywhere in the file is an
# error: the file is committed and logged, a key belongs in the environment.
_KEY_LIKE = re.compile(
    r"\bsk-[A-Za-z0-9_-]{16,}|\bsk-(?:ant|proj|or)-|\b(?:gsk|hf|ghp|gho|ghs|xai|pplx)_"
    r"[A-Za-z0-9]{16,}|\bgithub_pat_|\bxox[abprs]-|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{30,}"
    r"|\bBearer\s+\S{8,}|\beyJ[A-Za-z0-9_-]{8,}\.eyJ|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)


def secret_problems(raw: object, path: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    """Every string in the raw file that looks like a key (its value is never repeated)."""
    if isinstance(raw, dict):
        for key, value in raw.items():
            yield from secret_problems(value, (*path, str(key)))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            yield from secret_problems(value, (*path, i))
    elif isinstance(raw, str) and _KEY_LIKE.search(raw):
        yield Problem(key_path(*path), "looks like a key or token: keep it in an environment "
                                       "variable and name that variable in api_key_env")


def cross_check(config: RoutingConfig, tiers: Collection[str]) -> list[Problem]:
    """Every reference resolves, nothing shadows, nothing loops, shares add up."""
    return [*_upstreams(config), *_groups(config, tiers), *_aliases(config), *_ab(config, tiers),
            *_fallbacks(config), *_policies(config)]


def _upstreams(config: RoutingConfig) -> Iterator[Problem]:
    for name, upstream in config.upstreams.items():
        at = ("upstreams", name)
        if not _UPSTREAM_NAME.match(name):
            yield Problem(key_path(*at), "an upstream name is letters, digits, '.', '_', '-'")
        url = urlsplit(upstream.base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            yield Problem(key_path(*at, "base_url"), "must be an http:// or https:// URL")
        if url.username or url.password:
            yield Problem(key_path(*at, "base_url"), "holds credentials: name the key's "
                                                      "environment variable in api_key_env")
        if upstream.pool.max_keepalive > upstream.pool.max_connections:
            yield Problem(key_path(*at, "pool", "max_keepalive"),
                          "may not exceed pool.max_connections")
        for header, value in upstream.headers.items():
            where = key_path(*at, "headers", header)
            if not _HEADER_NAME.match(header):
                yield Problem(where, "not a valid HTTP header name")
            elif any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
                yield Problem(where, "a header value may not hold control characters")
            elif header.lower() in _CREDENTIAL_HEADERS:
                yield Problem(where, "credentials never go in this file: name the key's "
                                     "environment variable in api_key_env")
            elif header.lower() in _CLIENT_HEADERS:
                yield Problem(where, "set by the HTTP client, not configurable")


def _groups(config: RoutingConfig, tiers: Collection[str]) -> Iterator[Problem]:
    for name, group in config.groups.items():
        at = ("groups", name)
        yield from _public_id(at, name)
        seen: set[str] = set()
        for i, deployment in enumerate(group.deployments):
            if deployment.upstream not in config.upstreams:
                yield Problem(key_path(*at, "deployments", i, "upstream"),
                              f"no upstream named {deployment.upstream!r}")
            if deployment.id in seen:
                yield Problem(key_path(*at, "deployments", i),
                              f"{deployment.id} is already a deployment of this group")
            seen.add(deployment.id)
        for i, tier in enumerate(group.tiers or ()):
            if tier not in tiers:
                yield Problem(key_path(*at, "tiers", i),
                              f"unknown tier {tier!r} (known: {', '.join(sorted(tiers))})")
        if group.max_output_tokens >= group.context_window_tokens:
            yield Problem(key_path(*at, "max_output_tokens"),
                          "must be smaller than context_window_tokens")
        elif group.memory.max_tokens + group.max_output_tokens > group.context_window_tokens:
            yield Problem(key_path(*at, "memory", "max_tokens"),
                          "memory and max_output_tokens together exceed context_window_tokens")


def _public_id(at: tuple[str, ...], name: str) -> Iterator[Problem]:
    if name in RESERVED_MODEL_IDS:
        yield Problem(key_path(*at), f"{name!r} is a built-in model id and cannot be redefined")
    elif not _MODEL_ID.match(name):
        yield Problem(key_path(*at), "a model id is letters, digits and . _ : / @ + -")


def _aliases(config: RoutingConfig) -> Iterator[Problem]:
    for alias, target in config.aliases.items():
        at = ("aliases", alias)
        yield from _public_id(at, alias)
        if alias in config.groups:
            yield Problem(key_path(*at), f"shadows the group {alias!r}")
        if target not in config.groups:
            yield Problem(key_path(*at), f"no group named {target!r}"
                          + (" (an alias names a group, not another alias)"
                             if target in config.aliases else ""))


def _ab(config: RoutingConfig, tiers: Collection[str]) -> Iterator[Problem]:
    for name, experiment in config.ab.items():
        at = ("ab", name)
        group = config.groups.get(name)
        if group is None:
            yield Problem(key_path(*at), f"no group named {name!r} to split")
        total = 0
        for bucket_name, bucket in experiment.buckets.items():
            where = ("ab", name, "buckets", bucket_name)
            basis_points = bucket.percent * 100
            if abs(basis_points - round(basis_points)) > 1e-6:
                yield Problem(key_path(*where, "percent"), "at most two decimals")
            total += round(basis_points)
            if (bucket.group is None) == (bucket.deployment is None):
                yield Problem(key_path(*where), "names either a group or a deployment")
            elif bucket.group is not None:
                target = config.groups.get(bucket.group)
                if target is None:
                    yield Problem(key_path(*where, "group"), f"no group named {bucket.group!r}")
                elif group is not None:
                    yield from _covers(where, group, target, tiers)
            elif bucket.deployment is not None and bucket.deployment.upstream not in \
                    config.upstreams:
                yield Problem(key_path(*where, "deployment", "upstream"),
                              f"no upstream named {bucket.deployment.upstream!r}")
        if total != 10_000:
            yield Problem(key_path(*at, "buckets"),
                          f"percentages add up to {total / 100:g}, not 100")


def _covers(where: tuple[str, ...], group: Group, target: Group,
            tiers: Collection[str]) -> Iterator[Problem]:
    # Callers were promised the split group's limits and tiers: a bucket must honour them.
    if not set(group.tiers or tiers) <= set(target.tiers or tiers):
        yield Problem(key_path(*where, "group"), "allows fewer tiers than the group it splits")
    if target.context_window_tokens < group.context_window_tokens:
        yield Problem(key_path(*where, "group"),
                      "has a smaller context window than the group it splits")
    if target.max_output_tokens < group.max_output_tokens:
        yield Problem(key_path(*where, "group"),
                      "has a smaller max_output_tokens than the group it splits")


def _fallbacks(config: RoutingConfig) -> Iterator[Problem]:
    for name, targets in config.fallbacks.items():
        if name not in config.groups:
            yield Problem(key_path("fallbacks", name), f"no group named {name!r}")
        for i, target in enumerate(targets):
            where = key_path("fallbacks", name, i)
            if target not in config.groups:
                yield Problem(where, f"no group named {target!r}")
            elif target == name:
                yield Problem(where, "a group cannot fall back to itself")
            elif targets.index(target) != i:
                yield Problem(where, f"{target!r} is already listed")
    reported: set[frozenset[str]] = set()
    for start in config.fallbacks:
        cycle = _cycle_from(config.fallbacks, start)
        if cycle and len(cycle) > 2 and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            yield Problem(key_path("fallbacks", start), "fallback cycle: " + " → ".join(cycle))


def _cycle_from(graph: dict[str, tuple[str, ...]], start: str) -> list[str] | None:
    """The first path from `start` back to `start`, depth first."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in visited:
                visited.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def _policies(config: RoutingConfig) -> Iterator[Problem]:
    backoff = config.retries.backoff
    if backoff.cap_seconds < backoff.base_seconds:
        yield Problem("retries.backoff.cap_seconds", "may not be smaller than base_seconds")
