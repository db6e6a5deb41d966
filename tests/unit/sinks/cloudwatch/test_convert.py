"""CloudWatch translation: limits enforced before sending, without the network."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from scrape_push.model import Sample
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig
from scrape_push.sinks.cloudwatch.convert import _REQUEST_OVERHEAD, Datum, DatumSet, by_namespace, partition
from scrape_push.sinks.cloudwatch.limits import (
    MAX_DATUMS_PER_REQUEST,
    MAX_DIMENSION_VALUE_LENGTH,
    MAX_NAME_LENGTH,
    MAX_REQUEST_BYTES,
)
from scrape_push.sinks.cloudwatch.series import encoded_length

from tests.support.cloudwatch import NOW_MS, config, convert, sample

RULES = config()


def to_datums(samples: list[Sample], cfg: CloudWatchConfig, now_ms: int) -> DatumSet:
    return convert(samples, cfg, now_ms=now_ms)


def DatumRules(dimensions: tuple[str, ...]) -> CloudWatchConfig:
    return config(dimensions=dimensions)


def test_a_sample_becomes_a_datum() -> None:
    result = to_datums([sample("http_requests_total", 7.0, code="200")], RULES, NOW_MS)
    (datum,) = result.datums
    assert datum.payload == {
        "MetricName": "http_requests_total",
        "Dimensions": [{"Name": "job", "Value": "j"}, {"Name": "instance", "Value": "i:1"}],
        "Timestamp": datetime.fromtimestamp(NOW_MS / 1000, tz=UTC),
        "Value": 7.0,
        "StorageResolution": 60,
    }
    assert not result.dropped


DROPS = {
    "NaN": (sample(value=math.nan), "nan_or_inf"),
    "+Inf": (sample(value=math.inf), "nan_or_inf"),
    "-Inf": (sample(value=-math.inf), "nan_or_inf"),
    "too large": (sample(value=2.0**361), "value_out_of_range"),
    "older than two weeks": (sample(ts=NOW_MS - 15 * 86400 * 1000), "timestamp_out_of_range"),
    "over two hours ahead": (sample(ts=NOW_MS + 3 * 3600 * 1000), "timestamp_out_of_range"),
}


@pytest.mark.parametrize("bad,reason", DROPS.values(), ids=DROPS.keys())
def test_unacceptable_samples_are_dropped_and_counted_never_failing_the_batch(
    bad: Sample, reason: str
) -> None:
    result = to_datums([sample("ok1"), bad, sample("ok2")], RULES, NOW_MS)
    assert [d.payload["MetricName"] for d in result.datums] == ["ok1", "ok2"]
    assert result.dropped == {reason: 1}


def test_tiny_values_are_sent_as_zero_and_counted() -> None:
    result = to_datums([sample(value=1e-200)], RULES, NOW_MS)
    assert result.datums[0].payload["Value"] == 0.0
    assert result.adjusted == {"value_underflow_sent_as_zero": 1}


def test_dimension_values_are_made_printable_ascii() -> None:
    result = to_datums([sample(instance="café\n1")], RULES, NOW_MS)
    assert result.datums[0].payload["Dimensions"][1] == {"Name": "instance", "Value": "caf__1"}
    assert result.adjusted == {"dimension_value_non_ascii": 1}


def test_blank_dimension_value_is_omitted() -> None:
    result = to_datums([sample(instance="   ")], RULES, NOW_MS)
    assert result.datums[0].payload["Dimensions"] == [{"Name": "job", "Value": "j"}]
    assert result.adjusted == {"dimension_blank_omitted": 1}


def test_over_long_names_and_values_are_cut_keeping_distinct_inputs_distinct() -> None:
    long_a, long_b = "a" * 2000, "a" * 1999 + "b"
    result = to_datums(
        [sample("n" * 300, instance=long_a), sample("n" * 300, instance=long_b)], RULES, NOW_MS
    )
    names = {d.payload["MetricName"] for d in result.datums}
    values = [d.payload["Dimensions"][1]["Value"] for d in result.datums]
    assert all(len(n) == MAX_NAME_LENGTH for n in names)
    assert all(len(v) == MAX_DIMENSION_VALUE_LENGTH for v in values)
    assert values[0] != values[1]
    assert result.adjusted == {"metric_name_truncated": 2, "dimension_value_truncated": 2}


def test_series_that_merge_into_one_metric_are_dropped_and_counted() -> None:
    samples = [sample("req", 1.0, code="200"), sample("req", 2.0, code="500"), sample("other")]
    result = to_datums(samples, RULES, NOW_MS)
    assert [d.payload["Value"] for d in result.datums] == [1.0, 1.0]
    assert result.dropped == {"dimension_collision": 1}
    assert result.collisions == {"req": 1}
    with_code = to_datums(samples, DatumRules(("job", "instance", "code")), NOW_MS)
    assert len(with_code.datums) == 3


def test_series_cap_drops_new_dimension_sets_past_the_cap_and_names_the_metric() -> None:
    samples = [sample("req", 1.0, code=str(c)) for c in range(5)] + [sample("other")]
    result = to_datums(
        samples, config(dimensions=("job", "instance", "code"), max_series_per_metric=3), NOW_MS
    )
    assert [d.payload["MetricName"] for d in result.datums] == ["req"] * 3 + ["other"]
    assert result.dropped == {"series_cap": 2}
    assert result.capped == {"req": 2}


def test_rollups_add_dimension_sets_that_account_for_no_extra_sample() -> None:
    samples = [sample("req", 1.0, code="200"), sample("req", 2.0, code="500")]
    cfg = config(dimensions=("job", "instance", "code"), rollups=(("job",), ()))
    result = to_datums(samples, cfg, NOW_MS)
    dims = [[d["Name"] for d in x.payload.get("Dimensions", [])] for x in result.datums]
    assert dims == [["job", "instance", "code"], ["job"], [], ["job", "instance", "code"], ["job"], []]
    assert [d.weight for d in result.datums] == [1, 0, 0, 1, 0, 0]
    assert not result.dropped and not result.collisions


def test_namespace_per_job_splits_requests_by_namespace() -> None:
    samples = [sample("a", job="api"), sample("b", job="web/x"), sample("c", job="api")]
    result = to_datums(samples, config(namespace_per_job=True), NOW_MS)
    assert [(ns, [len(b) for b in batches]) for ns, batches in by_namespace(result.datums)] == [
        ("NS/api", [2]),
        ("NS/web/x", [1]),
    ]


def test_2500_samples_split_into_1000_1000_500_in_order() -> None:
    samples = [sample(f"m{i}") for i in range(2500)]
    batches = partition(to_datums(samples, RULES, NOW_MS).datums, "NS")
    assert [len(b) for b in batches] == [1000, 1000, 500]
    names = [d.payload["MetricName"] for b in batches for d in b]
    assert names == [f"m{i}" for i in range(2500)]


def test_requests_stay_under_the_byte_limit() -> None:
    fat = {f"l{i:02}": "x" * 1000 for i in range(30)}
    samples = [sample(f"m{i}", **fat) for i in range(300)]
    datums = to_datums(samples, DatumRules(tuple(fat)), NOW_MS).datums
    batches = partition(datums, "NS")
    assert len(batches) > 1
    assert all(len(b) <= MAX_DATUMS_PER_REQUEST for b in batches)
    assert all(request_size(b, "NS") <= MAX_REQUEST_BYTES for b in batches)
    assert sum(len(b) for b in batches) == 300


def request_size(batch: list[Datum], namespace: str) -> int:
    """The worst-case encoded size of one request (what ``partition`` keeps under the limit)."""
    return _REQUEST_OVERHEAD + encoded_length(namespace) + sum(d.size for d in batch)
