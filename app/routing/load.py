"""Read a routing file: YAML (duplicate keys refused), then the schema, then the cross-checks."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import orjson
from pydantic import ValidationError

from app.config_files import YamlError, read_yaml
from app.identity.tiers import load_tiers
from app.routing.checks import cross_check, secret_problems
from app.routing.config import RoutingConfig
from app.routing.problems import Problem, RoutingConfigError, from_validation, sorted_problems


def parse_routing(raw: object, tiers: Collection[str] | None = None) -> RoutingConfig:
    """Validate the parsed file; a RoutingConfigError lists every problem with its key path."""
    known_tiers = tiers if tiers is not None else set(load_tiers().scopes_by_tier)
    if not isinstance(raw, dict):
        raise RoutingConfigError([Problem("", "the file must be a YAML mapping (upstreams, "
                                              "groups, ...)")])
    problems = list(secret_problems(raw))
    try:
        # Through JSON so strict mode takes YAML's lists for tuples and ints for floats.
        as_json = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:  # a YAML set or binary value: no such field exists
        raise RoutingConfigError(
            [*problems, Problem("", f"unsupported YAML value: {exc}")]) from None
    try:
        config = RoutingConfig.model_validate_json(as_json)
    except ValidationError as exc:
        problems += from_validation(RoutingConfig, exc)
        raise RoutingConfigError(sorted_problems(problems)) from None
    problems += cross_check(config, known_tiers)
    if problems:
        raise RoutingConfigError(sorted_problems(problems))
    return config


def parse_routing_text(text: str, tiers: Collection[str] | None = None) -> RoutingConfig:
    """Parse and validate the text of a routing file."""
    try:
        raw = read_yaml(text)
    except YamlError as exc:
        raise RoutingConfigError([Problem(exc.where, f"not valid YAML: {exc.problem}")]) from None
    return parse_routing(raw, tiers)


def parse_routing_bytes(data: bytes, tiers: Collection[str] | None = None) -> RoutingConfig:
    """Parse and validate the bytes of a routing file (UTF-8)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RoutingConfigError([Problem(f"byte {exc.start}", "not UTF-8")]) from None
    return parse_routing_text(text, tiers)


def load_routing(path: Path, tiers: Collection[str] | None = None) -> RoutingConfig:
    """Read and validate a routing file (OSError when it cannot be read)."""
    return parse_routing_bytes(path.read_bytes(), tiers)
