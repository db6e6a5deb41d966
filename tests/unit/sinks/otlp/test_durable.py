"""The OTLP sink in the durable delivery: what a receiver refuses in a partial success, during a
replay or now, is counted as rejected and never kept or replayed again."""

from __future__ import annotations

from scrape_push.backlog.config import BacklogConfig
from scrape_push.backlog.durable import DurableDelivery
from scrape_push.backlog.store import BacklogStore
from scrape_push.deadline import Deadline
from scrape_push.model import Family, Sample
from scrape_push.sinks.otlp.sink import OTLPSink

from tests.support.otlp import build_sink, partial, status
from tests.support.samples import sample
from tests.unit.backlog.fakes import MemoryS3

GAUGE = Family("g", "gauge")


def gauges(count: int, time_ms: int) -> list[Sample]:
    return [
        sample("g", (("i", str(i)), ("instance", "a:1"), ("job", "j")), 1.0, time_ms, GAUGE)
        for i in range(count)
    ]


def durable(sink: OTLPSink, s3: MemoryS3, cycle_ms: int) -> DurableDelivery:
    store = BacklogStore("bucket", "otlp-id", lambda _: s3)
    return DurableDelivery(sink, store, None, BacklogConfig(), cycle_ms, clock=lambda: cycle_ms / 1000)


def test_a_partial_success_in_a_replay_counts_the_refused_samples_as_rejected() -> None:
    s3 = MemoryS3()
    down = status(503, "down", {"Retry-After": "600"})
    sink, adapter = build_sink("{endpoint: 'https://c.example/v1/metrics'}", down, partial(1, "one too old"))
    first = durable(sink, s3, 1_700_000_000_000)
    first.open(Deadline.after(30))
    report = first.push(gauges(4, 1_700_000_000_000), Deadline.after(30))
    first.close()
    assert (report.spilled, report.sent) == (4, 0) and len(s3.keys("backlog/")) == 1

    second = durable(sink, s3, 1_700_000_060_000)
    second.open(Deadline.after(30))
    report = second.push(gauges(4, 1_700_000_060_000), Deadline.after(30))
    second.close()
    assert report.backlog is not None
    assert (report.backlog.replayed, report.backlog.rejected) == (3, 1)  # the replayed request: 1 refused
    assert report.sent == 4 and report.rejected == 0
    assert "backlog: 1 data points refused: one too old (1 samples rejected, not retried)" in report.errors
    assert s3.keys("backlog/") == [] and s3.keys("rejected/") == []
    assert len(adapter.sent) == 3
