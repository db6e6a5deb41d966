"""Honest status: a CloudWatch sink that cannot do its job as configured says so (``ok: false``),
and a collision warning names the labels that tell the series apart."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, Sample
from scrape_push.sinks.cloudwatch.sink import CloudWatchSink

from tests.support.cloudwatch import config, sample, wall_ms
from tests.unit.sinks.cloudwatch.test_sink import FakeCloudWatch

CPU = Family("node_cpu_seconds", "counter")


def cpu_samples(cpus: int) -> list[Sample]:
    now = wall_ms()
    return [
        sample("node_cpu_seconds_total", 1.0, ts=now, family=CPU, cpu=str(cpu), mode=mode)
        for cpu in range(cpus)
        for mode in ("idle", "user")
    ]


def test_a_collision_warning_names_the_labels_that_tell_the_series_apart() -> None:
    report = DirectDelivery(CloudWatchSink(config(), clients=lambda _: FakeCloudWatch())).push(
        cpu_samples(2), Deadline.after(30)
    )
    assert report.dropped == {"dimension_collision": 3}
    assert report.warnings == [
        "3 series of node_cpu_seconds_total collide on their dimensions: they differ only in cpu, mode; "
        "add those labels to 'dimensions' (or to a 'metrics' rule for this metric)"
    ]


def test_a_large_share_of_collisions_makes_the_sink_not_ok() -> None:
    # One node_exporter with the default dimensions [job, instance]: most samples merge.
    report = DirectDelivery(CloudWatchSink(config(), clients=lambda _: FakeCloudWatch())).push(
        cpu_samples(4), Deadline.after(30)
    )
    assert not report.ok and report.to_dict()["ok"] is False
    assert report.errors == [
        "7 of 8 samples (88%) dropped as dimension_collision: the dimensions do not tell the series apart "
        "(see the warnings)"
    ]


def test_a_stray_collision_is_a_warning_only() -> None:
    now = wall_ms()
    samples = [sample(f"gauge_{i}", float(i), ts=now) for i in range(40)]
    samples += [sample("gauge_0", 1.0, ts=now, extra="x")]  # 1 of 41 samples collides
    report = DirectDelivery(CloudWatchSink(config(), clients=lambda _: FakeCloudWatch())).push(
        samples, Deadline.after(30)
    )
    assert report.dropped == {"dimension_collision": 1} and report.warnings
    assert report.ok and report.errors == []


def test_counter_deltas_without_the_state_table_are_not_ok() -> None:
    samples = [sample("req_total", 5.0, ts=wall_ms(), family=Family("req", "counter"))]
    report = DirectDelivery(
        CloudWatchSink(config(counter_mode="delta"), clients=lambda _: FakeCloudWatch())
    ).push(samples, Deadline.after(30))
    assert report.dropped == {"no_state_table": 1}
    assert not report.ok and report.to_dict()["ok"] is False


def thirty(*more: str) -> str:
    return "[" + ", ".join([*more, *(f"l{i}" for i in range(30 - len(more)))]) + "]"


@pytest.mark.parametrize(
    "sink",
    [
        f"{{namespace: N, dimensions: {thirty()}, histograms: distribution, summaries: metrics}}",
        f"{{namespace: N, dimensions: {thirty('le', 'quantile')}}}",
        f"{{namespace: N, dimensions: {thirty('quantile')}, histograms: distribution}}",
        f"{{namespace: N, dimensions: {thirty('le')}, summaries: metrics}}",
    ],
    ids=["nothing added", "both listed", "quantile listed", "le listed"],
)
def test_thirty_dimensions_are_accepted_when_the_sink_adds_none(sink: str) -> None:
    (cloudwatch,) = parse_config(f"cloudwatch: [{sink}]\n").config.sinks["cloudwatch"]
    assert len(cloudwatch.dimensions) == 30


ADDS_LE = (
    "30 dimensions configured, plus the 'le' dimension the sink adds (histograms: buckets); CloudWatch "
    "allows at most 30: drop a dimension, or set histograms: distribution"
)
ADDS_QUANTILE = (
    "30 dimensions configured, plus the 'quantile' dimension the sink adds (summaries: dimension); "
    "CloudWatch allows at most 30: drop a dimension, or set summaries: metrics"
)
RULE = "{match: h, histograms: buckets, dimensions: " + thirty() + "}"


@pytest.mark.parametrize(
    "sink,problem",
    [
        (
            f"{{namespace: N, dimensions: {thirty()}, histograms: distribution}}",
            f"cloudwatch[0].dimensions: {ADDS_QUANTILE}",
        ),
        (f"{{namespace: N, dimensions: {thirty('quantile')}}}", f"cloudwatch[0].dimensions: {ADDS_LE}"),
        (
            f"{{namespace: N, histograms: distribution, summaries: metrics, metrics: [{RULE}]}}",
            f"cloudwatch[0].metrics[0].dimensions: {ADDS_LE}",
        ),
        (
            f"{{namespace: N, dimensions: {thirty('le', 'quantile')}, metrics: [{{match: s}}, {RULE}]}}",
            f"cloudwatch[0].metrics[1].dimensions: {ADDS_LE}",
        ),
    ],
    ids=["summaries add quantile", "buckets add le", "a rule's buckets", "only the rule that adds"],
)
def test_thirty_dimensions_are_refused_where_the_sink_adds_one(sink: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"cloudwatch: [{sink}]\n")
    assert [str(p) for p in caught.value.problems] == [f"{problem} (line 1)"]


def test_a_series_with_thirty_dimensions_is_sent_with_all_of_them() -> None:
    labels = {f"l{i}": str(i) for i in range(28)}
    (cloudwatch,) = parse_config(
        f"cloudwatch: [{{namespace: N, dimensions: {thirty('job', 'instance')}, histograms: distribution, "
        "summaries: metrics}]\n"
    ).config.sinks["cloudwatch"]
    client = FakeCloudWatch()
    report = DirectDelivery(CloudWatchSink(cloudwatch, clients=lambda _: client)).push(
        [sample("g", 1.0, ts=wall_ms(), **labels)], Deadline.after(30)
    )
    assert report.ok
    (datum,) = client.datums
    assert len(datum["Dimensions"]) == 30
