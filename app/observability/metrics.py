"""The `lukhas_*` metrics, bound to one registry per app (no module-level globals).

Labels come from a small fixed set (stage, lane, status, and the routing file's upstream
and group names); never an id.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                  0.25, 0.5, 1.0, 2.5, 5.0)
_UPSTREAM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                     10.0, 30.0, 60.0, 120.0)


class Children:
    """The children of a labelled metric, looked up once per set of label values: `labels()`
    takes a lock and builds its key on every call, a few thousand CPU instructions each, and
    a request made seven such calls. For metrics whose children are never removed."""

    __slots__ = ("_children", "_metric")

    def __init__(self, metric: Counter | Gauge | Histogram) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        """The child for these label values, in the metric's label order."""
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class Metrics:
    """Every metric the service defines, registered on `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.stage_seconds = Histogram(
            "lukhas_matriz_stage_seconds", "Time spent in one MATRIZ pipeline stage.",
            ["stage", "lane"], buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.stage_over_budget = Counter(
            "lukhas_matriz_stage_over_budget_total",
            "Pipeline stages that took longer than their budget.",
            ["stage", "lane"], registry=registry,
        )
        self.pipeline_runs = Counter(
            "lukhas_matriz_pipeline_runs_total", "Pipeline runs by outcome.",
            ["lane", "status"], registry=registry,
        )
        self.tick_seconds = Histogram(
            "lukhas_matriz_tick_seconds", "Duration of one MATRIZ tick.",
            ["lane"], buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.tick_hz = Gauge(
            "lukhas_matriz_tick_rate_hz", "Current MATRIZ tick rate.", ["lane"],
            registry=registry,
        )
        self.tick_events = Counter(
            "lukhas_matriz_tick_events_total", "Cognitive events drained by the tick.",
            ["lane"], registry=registry,
        )
        self.tick_dropped = Counter(
            "lukhas_matriz_tick_events_dropped_total",
            "Cognitive events dropped because the tick buffer was full (oldest first).",
            ["lane"], registry=registry,
        )
        self.tick_buffer = Gauge(
            "lukhas_matriz_tick_buffer_events", "Events waiting in the tick buffer.", ["lane"],
            registry=registry,
        )
        self.ratelimit_decisions = Counter(
            "lukhas_ratelimit_decisions_total", "Rate-limit decisions by route class.",
            ["route", "status"], registry=registry,
        )
        self.ratelimit_fail_open = Counter(
            "lukhas_ratelimit_fail_open_total",
            "Requests admitted without a rate-limit check because the store was unreachable.",
            ["route"], registry=registry,
        )
        self.websocket_connections = Gauge(
            "lukhas_responses_websocket_connections",
            "WebSockets open on /v1/responses.", registry=registry,
        )
        self.websocket_turns = Counter(
            "lukhas_responses_websocket_turns_total",
            "response.create messages on WebSockets by outcome (completed, incomplete, failed:"
            " the response's terminal status; error: refused with an error message; left: the"
            " client went away mid-response).", ["outcome"], registry=registry,
        )
        self.auth_failures = Counter(
            "lukhas_auth_failures_total",
            "Failed authentications by surface (credential: API key or ΛiD token; password:"
            " account login) and outcome (rejected: 401; throttled: 429; store_unavailable:"
            " the throttle failed open).",
            ["surface", "outcome"], registry=registry,
        )
        self.embeddings_batch_size = Histogram(
            "lukhas_embeddings_batch_size", "Texts per embedding model call (micro-batched).",
            ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=registry,
        )
        self.embeddings_wait_seconds = Histogram(
            "lukhas_embeddings_wait_seconds",
            "Time an embedding request waited for its batch's model call to start.", ["model"],
            buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.embeddings_seconds = Histogram(
            "lukhas_embeddings_seconds", "Time of one embedding model call.", ["model"],
            buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.memory_search_seconds = Histogram(
            "lukhas_memory_search_seconds", "Time to search long-term memory.",
            buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.memory_upsert_seconds = Histogram(
            "lukhas_memory_upsert_seconds", "Time to write to long-term memory.",
            buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.memory_documents = Gauge(
            "lukhas_memory_documents", "Documents in long-term memory, per memory lane.",
            ["lane"], registry=registry,
        )
        self.memory_dedup_dropped = Counter(
            "lukhas_memory_dedup_dropped_total",
            "Memory writes not stored because the same content was already there.",
            registry=registry,
        )
        self.awareness_latency = Gauge(
            "lukhas_matriz_awareness_latency_ema_seconds",
            "Exponential moving average of pipeline latency, kept by the awareness engine.",
            ["lane"], registry=registry,
        )
        self.awareness_unknown = Gauge(
            "lukhas_matriz_awareness_unknown_ratio_ema",
            "Moving average of the share of turns the reasoner could not answer (drift signal).",
            ["lane"], registry=registry,
        )
        self.upstream_requests = Counter(
            "lukhas_upstream_requests_total",
            "Calls to upstream LLM servers by upstream, group and outcome (ok, 429, 5xx, 4xx,"
            " connect, timeout, deadline, died).",
            ["upstream", "group", "outcome"], registry=registry,
        )
        self.upstream_latency = Histogram(
            "lukhas_upstream_latency_seconds",
            "Time of one upstream call, from sending it to its last byte.",
            ["upstream", "group"], buckets=_UPSTREAM_BUCKETS, registry=registry,
        )
        self.upstream_ttft = Histogram(
            "lukhas_upstream_ttft_seconds",
            "Time from sending an upstream call to its first answer delta.",
            ["upstream", "group"], buckets=_UPSTREAM_BUCKETS, registry=registry,
        )
        self.upstream_tokens = Counter(
            "lukhas_upstream_tokens_total",
            "Tokens reported by upstreams, by group and kind (input, output, reasoning,"
            " cached).", ["group", "kind"], registry=registry,
        )
        self.upstream_fallbacks = Counter(
            "lukhas_upstream_fallbacks_total",
            "Requests moved on to a fallback group after the group they asked for failed.",
            ["group"], registry=registry,
        )
        self.upstream_retries = Counter(
            "lukhas_upstream_retries_total",
            "Attempts after the first within one group of a request's plan.",
            ["group"], registry=registry,
        )
        self.upstream_cooldowns = Gauge(
            "lukhas_upstream_cooldowns",
            "Deployments out of every pick after failures, per upstream.",
            ["upstream"], registry=registry,
        )
