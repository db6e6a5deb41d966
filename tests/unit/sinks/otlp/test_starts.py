"""Start times of counters, histograms and summaries without ``_created``: the time a stream was
first seen, kept in the state table across cold starts, moved by a reset, agreed on by racing
invocations, and left unset rather than made up when the table cannot be used."""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.model import Family, Sample
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.otlp.sink import OTLPSink
from scrape_push.sinks.otlp.starts import ENTRY

from tests.support.otlp import Clock, FakeAdapter, MemoryTable, build_sink, decoded
from tests.support.samples import sample

T0 = 1_700_000_000.0
COUNTER = Family("jobs", "counter")


def counters(values: dict[str, float], time_ms: int, instance: str = "10.0.0.1:9100") -> list[Sample]:
    return [
        sample("jobs_total", (("instance", instance), ("job", "node"), ("q", q)), v, time_ms, COUNTER)
        for q, v in values.items()
    ]


def cycle(sink: OTLPSink, adapter: FakeAdapter, samples: list[Sample]) -> tuple[dict[str, int], SinkReport]:
    """Send one cycle; each stream's start time (ns, 0: none) as the receiver decodes it."""
    report = SinkReport(sink.name, sink.kind)
    requests = sink.prepare(samples, report).resolve(Deadline.after(30), report)
    sink.deliver(requests, Deadline.after(30), report)
    body = adapter.bodies()[-1]
    starts = {}
    for resource in decoded(body).resource_metrics:
        for point in resource.scope_metrics[0].metrics[0].sum.data_points:
            starts[point.attributes[0].value.string_value] = point.start_time_unix_nano
    return starts, report


def test_a_stream_starts_when_first_seen_and_keeps_that_start_across_a_cold_start() -> None:
    table, clock = MemoryTable(), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    first, _ = cycle(sink, adapter, counters({"a": 5}, int(T0 * 1000)))
    assert first == {"a": int(T0 * 1e9)}  # a true reset point: start = its own time
    assert table.calls == ["batch_get_item", "put_item"]

    clock.now += 60
    warm, _ = cycle(sink, adapter, counters({"a": 9}, int(clock.now * 1000)))
    assert warm == first and table.calls == ["batch_get_item", "put_item"]  # nothing read or written

    clock.now += 60
    cold, adapter = build_sink(table=table, clock=clock)  # a new execution environment
    again, _ = cycle(cold, adapter, counters({"a": 12, "b": 1}, int(clock.now * 1000)))
    assert again == {"a": int(T0 * 1e9), "b": int(clock.now * 1e9)}
    assert table.calls[2:] == ["batch_get_item", "put_item"]  # read once, written for the new stream


def test_a_counter_that_goes_down_starts_again_just_before_the_point() -> None:
    table, clock = MemoryTable(), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    cycle(sink, adapter, counters({"a": 50}, int(T0 * 1000)))
    clock.now += 60
    reset, _ = cycle(sink, adapter, counters({"a": 3}, int(clock.now * 1000)))
    assert reset == {"a": int(clock.now * 1e9) - 1_000_000}

    clock.now += 60  # a cold start then a reset while no process watched: lower than at its start
    cold, adapter = build_sink(table=table, clock=clock)
    cycle(cold, adapter, counters({"a": 40}, int(clock.now * 1000)))
    clock.now += 60
    cold, adapter = build_sink(table=table, clock=clock)
    after, _ = cycle(cold, adapter, counters({"a": 1}, int(clock.now * 1000)))
    assert after == {"a": int(clock.now * 1e9) - 1_000_000}


def test_racing_invocations_agree_on_the_first_start() -> None:
    table, clock = MemoryTable(), Clock(T0)
    winner, winner_adapter = build_sink(table=table, clock=clock)
    loser, loser_adapter = build_sink(table=table, clock=Clock(T0 + 1))

    def other_writes_first() -> None:
        cycle(winner, winner_adapter, counters({"a": 5}, int(T0 * 1000)))

    table.race = other_writes_first
    starts, report = cycle(loser, loser_adapter, counters({"a": 6, "b": 2}, int((T0 + 1) * 1000)))
    assert starts == {"a": int(T0 * 1e9), "b": int((T0 + 1) * 1e9)}  # a: the winner's start
    assert report.warnings == []


def test_without_the_table_points_go_without_a_start_and_the_next_cycle_tries_again() -> None:
    table, clock = MemoryTable(down=True), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    starts, report = cycle(sink, adapter, counters({"a": 5}, int(T0 * 1000)))
    assert starts == {"a": 0}
    assert report.warnings == [
        "start times not read (ProvisionedThroughputExceededException: slow down): "
        "points of new targets sent without one"
    ]
    table.down = False
    clock.now += 60
    starts, report = cycle(sink, adapter, counters({"a": 6}, int(clock.now * 1000)))
    assert starts == {"a": int(clock.now * 1e9)} and report.warnings == []


def test_a_start_that_could_not_be_written_is_not_sent() -> None:
    table, clock = MemoryTable(), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    cycle(sink, adapter, counters({"a": 5}, int(T0 * 1000)))

    def fail_writes() -> None:
        table.down = True

    table.race = fail_writes
    clock.now += 60
    starts, report = cycle(sink, adapter, counters({"a": 6, "b": 1}, int(clock.now * 1000)))
    assert starts == {"a": int(T0 * 1e9), "b": 0}  # a's start is stored; b's could not be
    assert report.warnings[0].startswith("start times not kept (ProvisionedThroughputExceededException")


def test_an_item_is_refreshed_daily_and_forgets_streams_unseen_for_a_week() -> None:
    table, clock = MemoryTable(), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    cycle(sink, adapter, counters({"a": 1, "b": 1}, int(T0 * 1000)))
    clock.now += 3 * 86400
    cycle(sink, adapter, counters({"a": 2}, int(clock.now * 1000)))  # > 1 day since the write
    assert table.calls.count("put_item") == 2
    clock.now += 5 * 86400
    cycle(sink, adapter, counters({"a": 3}, int(clock.now * 1000)))  # b last confirmed 8 days ago
    (item,) = table.items.values()
    assert len(item["starts"]["B"]) == ENTRY.size  # only a is kept


def test_a_large_target_is_kept_in_several_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scrape_push.sinks.otlp.starts.SERIES_PER_SHARD", 10)
    table, clock = MemoryTable(), Clock(T0)
    sink, adapter = build_sink(table=table, clock=clock)
    values = {f"q{i:03}": 1.0 for i in range(35)}
    first, _ = cycle(sink, adapter, counters(values, int(T0 * 1000)))
    assert len(table.items) == 4 and {len(i["starts"]["B"]) // ENTRY.size for i in table.items.values()} != {
        0
    }
    clock.now += 60
    cold, adapter = build_sink(table=table, clock=clock)
    again, _ = cycle(cold, adapter, counters(values, int(clock.now * 1000)))
    assert again == first
    assert table.calls[-2:] == ["batch_get_item", "batch_get_item"]  # shard 0, then the other three


def test_a_cold_start_reads_every_100_targets_in_one_call_and_retries_unprocessed_keys() -> None:
    table, clock = MemoryTable(), Clock(T0)
    samples = [s for i in range(150) for s in counters({"a": 1}, int(T0 * 1000), instance=f"10.0.0.{i}:1")]
    sink, adapter = build_sink(table=table, clock=clock)
    table.unprocessed = 7
    cycle(sink, adapter, samples)
    assert table.calls.count("batch_get_item") == 3  # 100 + 50, and the 7 left unprocessed
    assert table.calls.count("put_item") == 150


def test_histograms_and_summaries_get_start_times_too() -> None:
    exposition = [
        sample(
            "h_bucket", (("instance", "a:1"), ("job", "j"), ("le", "+Inf")), 2, 1000, Family("h", "histogram")
        ),
        sample("h_count", (("instance", "a:1"), ("job", "j")), 2, 1000, Family("h", "histogram")),
        sample("s_count", (("instance", "a:1"), ("job", "j")), 4, 1000, Family("s", "summary")),
    ]
    sink, adapter = build_sink(table=MemoryTable(), clock=Clock(T0))
    report = SinkReport(sink.name, sink.kind)
    requests = sink.prepare(exposition, report).resolve(Deadline.after(30), report)
    sink.deliver(requests, Deadline.after(30), report)
    metrics: list[Any] = list(decoded(adapter.bodies()[0]).resource_metrics[0].scope_metrics[0].metrics)
    assert metrics[0].histogram.data_points[0].start_time_unix_nano == 1_000_000_000  # first seen at 1 s
    assert metrics[1].summary.data_points[0].start_time_unix_nano == 1_000_000_000


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_slow_table_takes_at_most_its_share_of_the_time_and_the_points_still_go() -> None:
    fake = FakeTime()
    table, clock = MemoryTable(), Clock(T0)

    def slow() -> None:
        fake.now += 0.1

    table.slow = slow
    samples = [s for i in range(200) for s in counters({"a": 1}, int(T0 * 1000), instance=f"10.0.0.{i}:1")]
    sink, adapter = build_sink(table=table, clock=clock)
    report = SinkReport(sink.name, sink.kind)
    requests = sink.prepare(samples, report).resolve(Deadline(20.0, fake), report)
    assert sum(r.samples for r in requests) == 200  # every point is sent
    assert 15 <= table.calls.count("put_item") <= 45  # 0.25 of 20 s, at 0.1 s a write
    assert fake.now <= 5.0 + 0.1
    assert any(w.startswith("start times not kept (not attempted") for w in report.warnings)
    sink.deliver(requests, Deadline.after(30), report)
    starts = [
        p.start_time_unix_nano
        for body in adapter.bodies()
        for r in decoded(body).resource_metrics
        for p in r.scope_metrics[0].metrics[0].sum.data_points
    ]
    assert len(starts) == 200 and 0 < starts.count(0) < 200  # those not stored went without one
