"""The `lukhas_*` metrics, bound to one registry per app (no module-level globals).

Labels come from a small fixed set (stage, lane, status, and the routing file's upstream
and group names); never an id.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

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


class _Count:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _Observed:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class Tally(Collector):
    """A labelled counter (or, with `buckets`, histogram) for counts made on every request:
    kept as plain numbers, and read by the registry as prometheus_client's own would be.
    `tally(*label_values).inc()` (`.observe(seconds)`) is an addition, where a
    prometheus_client child checks its labels, takes a lock and looks for an exemplar, some
    3,000 CPU instructions a count (8,000 an observation). Counts are made on the event
    loop's thread: they are not locked. Children are never removed."""

    def __init__(self, name: str, documentation: str, labelnames: list[str],
                 registry: CollectorRegistry, buckets: tuple[float, ...] | None = None) -> None:
        # Named and typed as prometheus_client's metrics are (a counter without `_total`).
        self._type = "counter" if buckets is None else "histogram"
        self._name = name.removesuffix("_total") if buckets is None else name
        self._documentation, self._labelnames, self._buckets = documentation, labelnames, buckets
        self._children: dict[tuple[str, ...], Any] = {}
        registry.register(self)

    def __call__(self, *values: str) -> Any:
        """The child for these label values, in the label names' order."""
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self._labelnames):
                raise ValueError(f"{self._name} takes labels {self._labelnames}")
            child = self._children[values] = (
                _Count() if self._buckets is None else _Observed(self._buckets))
        return child

    labels = __call__

    def describe(self) -> Iterable[Metric]:
        if self._buckets is None:
            return [CounterMetricFamily(self._name, self._documentation,
                                        labels=self._labelnames)]
        return [HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterable[Metric]:
        children = list(self._children.items())
        if self._buckets is None:
            counts = CounterMetricFamily(self._name, self._documentation,
                                         labels=self._labelnames)
            for values, count in children:
                counts.add_metric(list(values), count.value)
            return [counts]
        observed = HistogramMetricFamily(self._name, self._documentation,
                                         labels=self._labelnames)
        for values, child in children:
            total, buckets = 0, []
            for bound, count in zip((*child.bounds, math.inf), child.counts, strict=True):
                total += count
                buckets.append(("+Inf" if math.isinf(bound) else repr(bound), float(total)))
            observed.add_metric(list(values), buckets, child.sum)
        return [observed]


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
        self.experience_events = Counter(
            "lukhas_experience_events_total",
            "Events written to the experience log.", ["lane"], registry=registry,
        )
        self.experience_dropped = Counter(
            "lukhas_experience_dropped_total",
            "Experience events dropped: the buffer was full (oldest first), or a failed "
            "write left no room to keep them.", ["lane"], registry=registry,
        )
        self.experience_write_failures = Counter(
            "lukhas_experience_write_failures_total",
            "Writes of the experience log that failed (their events are kept for the next).",
            ["lane"], registry=registry,
        )
        self.drift_ema = Gauge(
            "lukhas_drift_ema", "DriftScore v2: the EMA of 1 - cos(question, answer).",
            ["lane"], registry=registry,
        )
        self.coherence = Gauge(
            "lukhas_coherence", "Average cos(question, answer) over the last ticks, weighted "
            "by constraint satisfaction.", ["lane"], registry=registry,
        )
        self.drift_blocked = Gauge(
            "lukhas_drift_blocked", "1 while a model's answers are refused for drift.",
            ["lane", "model"], registry=registry,
        )
        self.drift_samples = Counter(
            "lukhas_drift_samples_total", "Answers folded into drift and coherence.",
            ["lane"], registry=registry,
        )
        self.breakthrough_flags = Counter(
            "lukhas_breakthrough_flags_total", "Answers and dream scenarios flagged as "
            "breakthroughs (novelty x value at a z-score of 3 or more).",
            ["lane", "kind"], registry=registry,
        )
        self.breakthrough_z = Gauge(
            "lukhas_breakthrough_z", "The z-score of the latest scored answer or scenario.",
            ["lane"], registry=registry,
        )
        self.memory_folds = Counter(
            "lukhas_memory_folds_total", "Folds written by consolidation (created or extended).",
            ["lane"], registry=registry,
        )
        self.memory_circuit_breaks = Counter(
            "lukhas_memory_circuit_breaks_total",
            "Consolidation passes stopped by the fold guard (the breaker opened).",
            ["lane"], registry=registry,
        )
        self.memory_consolidation_seconds = Histogram(
            "lukhas_memory_consolidation_seconds", "Duration of one consolidation pass.",
            ["lane"], buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.engine_seconds = Histogram(
            "lukhas_matriz_engine_seconds", "Time each tick engine takes inside a tick.",
            ["lane", "component"], buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.reflection_seconds = Histogram(
            "lukhas_reflection_seconds", "Time to reflect on one pipeline run.",
            ["lane"], buckets=_STAGE_BUCKETS, registry=registry,
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
        self.background_responses = Gauge(
            "lukhas_background_responses",
            "Background responses this process holds, by status (queued: waiting for a slot"
            " of its runner; in_progress: running).", ["status"], registry=registry,
        )
        self.background_ended = Counter(
            "lukhas_background_responses_ended_total",
            "Background responses ended, by outcome (completed, incomplete, failed: as their"
            " run ended; cancelled: on request; lapsed: their runner was gone, marked failed;"
            " stopped: the service stopped first, marked failed).", ["outcome"],
            registry=registry,
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
        self.dreams_started = Counter(
            "lukhas_dreams_started_total", "Dreams a runner took out of the queue (once per"
            " dream, however often it is resumed).", registry=registry,
        )
        self.dreams = Counter(
            "lukhas_dreams_total", "Dreams ended, by how they ended (completed, failed,"
            " cancelled, incomplete).", ["status"], registry=registry,
        )
        self.dream_seconds = Histogram(
            "lukhas_dream_seconds", "Time of one dream, from its creation to its end.",
            buckets=_UPSTREAM_BUCKETS, registry=registry,
        )
        self.dream_phase_seconds = Histogram(
            "lukhas_dream_phase_seconds",
            "Time of one phase of a dream (gathering ... consolidating), by phase.",
            ["stage"], buckets=_STAGE_BUCKETS, registry=registry,
        )
        self.dream_proposals = Counter(
            "lukhas_dream_proposals_total", "Merges proposed by dreams' consolidation, by"
            " outcome (applied, refused by the Guardian, proposed only).", ["outcome"],
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
