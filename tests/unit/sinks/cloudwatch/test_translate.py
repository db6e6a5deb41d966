"""Golden-file tests: counters, gauges, histograms and summaries through every translation mode.

Each case translates two scrapes of the same OpenMetrics exposition (values moving on, one
counter reset) and compares the datums with ``golden/<case>.json``. After a deliberate change,
regenerate with ``UPDATE_GOLDEN=1 make unit`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from scrape_push.model import Sample
from scrape_push.sinks.cloudwatch.convert import DatumSet
from scrape_push.sinks.cloudwatch.translate import quantile_name

from tests.support.cloudwatch import NOW_MS, config, convert, points
from tests.support.parsing import scraped

GOLDEN = Path(__file__).parent / "golden"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"

EXPOSITION = """\
# TYPE http_requests counter
http_requests_total{{code="200"}} {ok}
http_requests_created{{code="200"}} 1700000000
http_requests_total{{code="500"}} {errors}
http_requests_created{{code="500"}} {errors_created}
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes {memory}
# TYPE rpc_duration_seconds histogram
# UNIT rpc_duration_seconds seconds
rpc_duration_seconds_bucket{{le="0.1"}} {b1}
rpc_duration_seconds_bucket{{le="1.0"}} {b2}
rpc_duration_seconds_bucket{{le="+Inf"}} {b3}
rpc_duration_seconds_sum {hsum}
rpc_duration_seconds_count {b3}
# TYPE payload_bytes summary
payload_bytes{{quantile="0.5"}} {q50}
payload_bytes{{quantile="0.99"}} {q99}
payload_bytes_sum {ssum}
payload_bytes_count {scount}
# EOF
"""

FIRST = {
    "ok": 100, "errors": 7, "errors_created": 1700000000, "memory": 2.5e6,
    "b1": 3, "b2": 8, "b3": 10, "hsum": 4.2, "q50": 512, "q99": 2048, "ssum": 9000, "scount": 12,
}  # fmt: skip
SECOND = {  # 60 s later; the 500s counter restarted (lower value, newer _created)
    **FIRST, "ok": 130, "errors": 2, "errors_created": 1700000500, "memory": 2.6e6,
    "b1": 5, "b2": 14, "b3": 17, "hsum": 9.7, "q50": 600, "ssum": 9900, "scount": 13,
}  # fmt: skip

CASES: dict[str, dict[str, Any]] = {
    "cumulative_buckets": {},
    "delta_distribution": {"counter_mode": "delta", "histograms": "distribution"},
    "rate_distribution_sum_count": {
        "counter_mode": "rate",
        "histograms": "distribution",
        "histogram_sum_count": True,
    },
    "delta_buckets_summary_metrics": {"counter_mode": "delta", "summaries": "metrics"},
}


def scrape(values: dict[str, float], ts: int) -> list[Sample]:
    return scraped(
        EXPOSITION.format(**values).encode(), OPENMETRICS, ts, (("instance", "app:80"), ("job", "app"))
    )


def render(result: DatumSet) -> dict[str, Any]:
    datums = []
    for d in result.datums:
        payload = dict(d.payload)
        payload["Timestamp"] = payload["Timestamp"].isoformat()
        if "Dimensions" in payload:  # compact and readable; order is kept by the dict
            payload["Dimensions"] = {x["Name"]: x["Value"] for x in payload["Dimensions"]}
        datums.append({"namespace": d.namespace, "weight": d.weight, **payload})
    return {"datums": datums, "dropped": dict(sorted(result.dropped.items()))}


@pytest.mark.parametrize("case", CASES)
def test_translation_matches_golden_file(case: str) -> None:
    cfg = config(dimensions=("job", "instance", "code"), **CASES[case])
    first = scrape(FIRST, NOW_MS - 60_000)
    second = scrape(SECOND, NOW_MS)
    got = {
        "config": CASES[case],
        "first_scrape": render(convert(first, cfg)),
        "second_scrape": render(convert(second, cfg, previous=points(first, cfg))),
    }
    path = GOLDEN / f"{case}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=1) + "\n")
    assert got == json.loads(path.read_text())


@pytest.mark.parametrize("case", CASES)
def test_every_sample_is_sent_or_dropped_with_a_reason(case: str) -> None:
    cfg = config(dimensions=("job", "instance", "code"), **CASES[case])
    first = scrape(FIRST, NOW_MS - 60_000)
    for result in (convert(first, cfg), convert(scrape(SECOND, NOW_MS), cfg, previous=points(first, cfg))):
        assert sum(d.weight for d in result.datums) + sum(result.dropped.values()) == len(first)


def test_delta_counts_a_reset_from_zero_and_histograms_become_one_distribution() -> None:
    cfg = config(counter_mode="delta", histograms="distribution", dimensions=("job", "code"))
    first = scrape(FIRST, NOW_MS - 60_000)
    result = convert(scrape(SECOND, NOW_MS), cfg, previous=points(first, cfg))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for d in result.datums:
        by_name.setdefault(d.payload["MetricName"], []).append(d.payload)
    assert [(p["Dimensions"][1]["Value"], p["Value"]) for p in by_name["http_requests_total"]] == [
        ("200", 30.0),
        ("500", 2.0),  # reset: counted from zero, never -5
    ]
    (dist,) = by_name["rpc_duration_seconds"]
    assert dist["Values"] == [0.05, 0.55, 1.0] and dist["Counts"] == [2.0, 4.0, 1.0]
    assert sum(dist["Counts"]) == SECOND["b3"] - FIRST["b3"]  # SampleCount = increase of _count
    assert dist["Unit"] == "Seconds"


def test_first_sight_emits_nothing_for_tracked_series() -> None:
    cfg = config(counter_mode="rate", histograms="distribution")
    result = convert(scrape(FIRST, NOW_MS), cfg)
    names = {d.payload["MetricName"] for d in result.datums}
    assert "http_requests_total" not in names and "rpc_duration_seconds" not in names
    assert result.dropped["first_sight"] > 0


@pytest.mark.parametrize(
    "quantile,name", [("0.5", "x_p50"), ("0.99", "x_p99"), ("0.999", "x_p99.9"), ("1", "x_p100")]
)
def test_quantile_metric_names(quantile: str, name: str) -> None:
    assert quantile_name("x", quantile) == name


def test_a_newer_created_resets_every_bucket_of_a_histogram_in_buckets_mode() -> None:
    text = (
        "# TYPE h histogram\n"
        'h_bucket{{le="1.0"}} {a}\nh_bucket{{le="+Inf"}} {b}\nh_sum 1\nh_count {b}\nh_created {created}\n'
        "# EOF\n"
    )

    def scrape_h(a: int, b: int, created: int, ts: int) -> list[Sample]:
        data = text.format(a=a, b=b, created=created).encode()
        return scraped(data, OPENMETRICS, ts, (("instance", "x:1"), ("job", "x")))

    cfg = config(counter_mode="delta")
    first = scrape_h(5, 9, 100, NOW_MS - 60_000)
    # restarted and already past the old values: only _created tells
    result = convert(scrape_h(6, 10, 200, NOW_MS), cfg, previous=points(first, cfg))
    buckets = {
        d.payload["Dimensions"][-1]["Value"]: d.payload["Value"]
        for d in result.datums
        if "le" in str(d.payload)
    }
    assert buckets == {"1.0": 6.0, "+Inf": 10.0}
    assert sum(d.weight for d in result.datums) + sum(result.dropped.values()) == len(first)
