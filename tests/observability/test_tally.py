"""A tally reads in /metrics exactly as prometheus_client's own counter or histogram would,
fed the same counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from app.observability.metrics import Tally

BUCKETS = (0.0001, 0.001, 0.01, 0.1, 1.0)
SECONDS = [0.00005, 0.0001, 0.0004, 0.003, 0.003, 0.2, 7.5]


def _lines(registry: CollectorRegistry) -> list[str]:
    """The exposition without `_created` samples (a tally keeps no creation time)."""
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]


def test_a_counting_tally_reads_as_a_counter() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    tally = Tally("lukhas_t_total", "Things.", ["lane", "action"], ours)
    counter = Counter("lukhas_t_total", "Things.", ["lane", "action"], registry=theirs)
    for lane, action, n in [("dev", "allow", 3), ("dev", "block", 1), ("prod", "allow", 2)]:
        for _ in range(n):
            tally(lane, action).inc()
            counter.labels(lane, action).inc()
    assert _lines(ours) == _lines(theirs)
    assert ours.get_sample_value("lukhas_t_total", {"lane": "dev", "action": "allow"}) == 3


def test_an_observing_tally_reads_as_a_histogram() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    tally = Tally("lukhas_s_seconds", "Time.", ["lane"], ours, buckets=BUCKETS)
    histogram = Histogram("lukhas_s_seconds", "Time.", ["lane"], buckets=BUCKETS,
                          registry=theirs)
    for seconds in SECONDS:  # on a bound, between two, above them all
        tally.labels("dev").observe(seconds)
        histogram.labels("dev").observe(seconds)
    assert _lines(ours) == _lines(theirs)
