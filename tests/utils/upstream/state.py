"""What a mock upstream is told to do (its configuration and scripted behaviours) and what it saw.

A behaviour is a `Rule`: a named preset (`rate_limit`, `hang`, `die`, ...) whose fields may be
overridden. Rules are queued with `POST /__control` (each applies to the next `times` requests,
optionally only on some paths) or given for one request in the `x-mock-behaviour` header.
All state lives in the server's event loop; nothing here is shared across threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import orjson

DEFAULT_MODELS = ("mock-gpt", "mock-mini")

# Presets: the fields each named behaviour sets before the caller's overrides.
PRESETS: dict[str, dict[str, Any]] = {
    "rate_limit": {"status": 429, "retry_after": 1.0},
    "server_error": {"status": 500},
    "bad_gateway": {"status": 502},
    "unavailable": {"status": 503},
    "bad_request": {"status": 400},
    "error": {},  # `status` given by the caller
    "hang": {"hang": True},
    "delay": {"first_byte_delay_ms": 200.0},
    "slow": {"chunk_delay_ms": 50.0},
    "die": {"die_after_chunks": 2},
    "refuse": {"refusal": "I'm sorry, but I can't help with that."},
    "content_filter": {"content_filter": True},
    "reply": {},  # `reply` and/or `tool_calls` given by the caller
}

ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
               403: "invalid_request_error", 404: "invalid_request_error",
               429: "requests", 500: "server_error", 502: "server_error", 503: "server_error"}
ERROR_CODES = {429: "rate_limit_exceeded", 500: "server_error", 503: "server_overloaded"}


class RuleError(ValueError):
    """A control request or `x-mock-behaviour` header the mock does not understand."""


@dataclass(frozen=True)
class Rule:
    """One scripted behaviour; see the module docstring and `PRESETS`."""

    behaviour: str = "reply"
    times: int | None = 1  # None: every matching request until reset
    paths: tuple[str, ...] | None = None  # only requests to these paths
    models: tuple[str, ...] | None = None  # only requests for these models
    status: int | None = None  # answer this HTTP error instead of a completion
    message: str | None = None  # error message
    type: str | None = None  # error type
    code: str | None = None  # error code
    param: str | None = None  # error param
    retry_after: float | None = None  # seconds: `retry-after` and `retry-after-ms` headers
    should_retry: bool | None = None  # `x-should-retry` header
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    hang: bool = False  # never answer (until the client goes away), or after `seconds`
    seconds: float | None = None
    first_byte_delay_ms: float = 0.0
    chunk_delay_ms: float = 0.0
    die_after_chunks: int | None = None  # stream this many chunks, then drop the connection
    die_mode: str = "abort"  # abort: reset mid-body; eof: end cleanly, no [DONE]; error: in-stream
    # error (chat: `data: {"error": ...}`; Responses: `response.failed`)
    reply: str | None = None  # the assistant text, instead of the echo
    refusal: str | None = None
    content_filter: bool = False
    tool_calls: tuple[dict[str, Any], ...] | None = None  # [{"name", "arguments"}]
    cached_tokens: int | None = None

    def error_body(self) -> dict[str, Any]:
        status = self.status or 500
        message = self.message or f"Mock upstream scripted error ({status})."
        return {"error": {"message": message,
                          "type": self.type or ERROR_TYPES.get(status, "api_error"),
                          "param": self.param, "code": self.code or ERROR_CODES.get(status)}}

    def error_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.retry_after is not None:
            out["retry-after"] = f"{self.retry_after:g}"
            out["retry-after-ms"] = str(round(self.retry_after * 1000))
        if self.should_retry is not None:
            out["x-should-retry"] = "true" if self.should_retry else "false"
        return out


_FIELDS = {f.name for f in fields(Rule)}


def parse_rule(spec: dict[str, Any]) -> Rule:
    """A `Rule` from its JSON form; unknown names and fields are errors, never ignored."""
    if not isinstance(spec, dict):
        raise RuleError("a behaviour is a JSON object")
    name = spec.get("behaviour", "reply")
    if name not in PRESETS:
        raise RuleError(f"unknown behaviour {name!r}; known: {', '.join(PRESETS)}")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise RuleError(f"unknown behaviour fields: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {**PRESETS[name], **spec}
    if name == "error" and not values.get("status"):
        raise RuleError("behaviour 'error' needs a 'status'")
    for key in ("paths", "models"):
        if values.get(key) is not None:
            given = values[key]
            values[key] = (given,) if isinstance(given, str) else tuple(given)
    if values.get("tool_calls") is not None:
        values["tool_calls"] = tuple(values["tool_calls"])
    if values.get("die_mode", "abort") not in ("abort", "eof", "error"):
        raise RuleError("die_mode is 'abort', 'eof' or 'error'")
    try:
        return Rule(**values)
    except TypeError as exc:  # pragma: no cover - dataclass field mismatch
        raise RuleError(str(exc)) from exc


def parse_header(value: str) -> Rule:
    """`x-mock-behaviour`: a JSON object, or `name; key=value; ...` (values read as JSON)."""
    value = value.strip()
    if value.startswith("{"):
        try:
            return parse_rule(orjson.loads(value))
        except orjson.JSONDecodeError as exc:
            raise RuleError(f"x-mock-behaviour is not valid JSON: {exc}") from exc
    name, *pairs = [p.strip() for p in value.split(";")]
    spec: dict[str, Any] = {"behaviour": name}
    for pair in filter(None, pairs):
        key, sep, raw = pair.partition("=")
        if not sep:
            raise RuleError(f"x-mock-behaviour: expected key=value, got {pair!r}")
        try:
            spec[key.strip()] = orjson.loads(raw.strip())
        except orjson.JSONDecodeError:
            spec[key.strip()] = raw.strip()
    return parse_rule(spec)


@dataclass
class Config:
    """What a mock upstream serves: its model ids, an optional required key, its log size."""

    models: tuple[str, ...] = DEFAULT_MODELS
    api_key: str | None = None
    log_size: int = 200
    embedding_dims: int = 32
    record: bool = True  # keep request bodies and headers (counters are always kept)

    def updated(self, changes: dict[str, Any]) -> Config:
        unknown = set(changes) - {f.name for f in fields(Config)}
        if unknown:
            raise RuleError(f"unknown config fields: {', '.join(sorted(unknown))}")
        if "models" in changes:
            changes = {**changes, "models": tuple(changes["models"])}
        return replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class UpstreamState:
    """Configuration, queued rules, counters, the request log and a prompt-prefix cache."""

    def __init__(self, config: Config) -> None:
        self.initial = config
        self.config = config
        self.rules: list[Rule] = []
        self.counts: Counter[str] = Counter()
        self.log: deque[dict[str, Any]] = deque(maxlen=config.log_size)
        self._prefixes: dict[bytes, int] = {}
        self.responses: dict[str, dict[str, Any]] = {}  # Responses API objects, by id
        self.closing = asyncio.Event()

    def reset(self) -> None:
        """Back to the start-up configuration, with no rules, counts, log or cache."""
        self.config = self.initial
        self.rules.clear()
        self.counts.clear()
        self.log = deque(maxlen=self.config.log_size)
        self._prefixes.clear()
        self.responses.clear()

    def configure(self, changes: dict[str, Any]) -> None:
        self.config = self.config.updated(changes)
        if self.log.maxlen != self.config.log_size:
            self.log = deque(self.log, maxlen=self.config.log_size)

    def take_rule(self, path: str, model: Any) -> Rule | None:
        """The first queued rule for `path` and `model`, spending one of its `times`."""
        for i, rule in enumerate(self.rules):
            if rule.paths is not None and path not in rule.paths:
                continue
            if rule.models is not None and model not in rule.models:
                continue
            if rule.times is not None:
                if rule.times <= 1:
                    del self.rules[i]
                else:
                    self.rules[i] = replace(rule, times=rule.times - 1)
            return rule
        return None

    def record(self, method: str, path: str, query: str, headers: dict[str, str],
               body: Any) -> None:
        self.counts[path] += 1
        if self.config.record:
            self.log.append({"method": method, "path": path, "query": query,
                             "headers": headers, "body": body, "time": time.time()})

    def cached_tokens(self, parts: list[bytes], counts: list[int]) -> int:
        """Prompt tokens served from a simulated prefix cache: the longest earlier-seen prefix.

        `parts` are the serialised messages (or input items) and `counts` their token counts;
        every prefix of this prompt is remembered for later requests.
        """
        digest = hashlib.blake2b(digest_size=16)
        cached = total = 0
        if len(self._prefixes) > 100_000:
            self._prefixes.clear()
        for i, (part, n) in enumerate(zip(parts, counts, strict=True)):
            digest.update(part)
            total += n
            key = digest.copy().digest()
            if i < len(parts) - 1 and key in self._prefixes:
                cached = total
            self._prefixes[key] = total
        return cached

    def snapshot(self) -> dict[str, Any]:
        return {"config": self.config.as_json(), "rules": [asdict(r) for r in self.rules]}
