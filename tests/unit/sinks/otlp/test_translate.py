"""Golden-file tests of the OTLP translation, one case per kind of Prometheus metric.

Each case sends two scrapes of an exposition, 60 s apart, through the sink's prepare and state
step (start times in an in-memory state table), decodes every request body with the official
``opentelemetry-proto`` messages and compares them with ``golden/<case>.json``. After a
deliberate change, regenerate with ``UPDATE_GOLDEN=1 make unit`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from scrape_push.deadline import Deadline
from scrape_push.model import Family
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.otlp.series import SeriesMap

from tests.support.otlp import Clock, MemoryTable, build_sink, decoded, scraped
from tests.support.samples import sample

GOLDEN = Path(__file__).parent / "golden"
T1 = 1_700_000_060.0
TEXT = "text/plain; version=0.0.4"

EXEMPLAR = '{trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331",user="u1"} 1 1700000050.5'
COUNTERS = """\
# TYPE http_requests counter
# HELP http_requests Requests served.
http_requests_total{{code="200"}} {ok} # {exemplar}
http_requests_created{{code="200"}} 1700000000.25
http_requests_total{{code="500"}} {errors}
# TYPE build info
build_info{{version="1.2.3"}} 1
# TYPE feature stateset
feature{{feature="a"}} 1
feature{{feature="b"}} 0
# EOF
"""
GAUGES = """\
# TYPE process_resident_memory_bytes gauge
# UNIT process_resident_memory_bytes bytes
# HELP process_resident_memory_bytes Resident memory size.
process_resident_memory_bytes {memory}
# TYPE queue_depth unknown
queue_depth{{queue="a"}} {depth}
# TYPE temperature_celsius gauge
# UNIT temperature_celsius celsius
temperature_celsius NaN
# TYPE disk_read_bytes_per_second gauge
# UNIT disk_read_bytes_per_second bytes_per_second
disk_read_bytes_per_second 12
# EOF
"""
HISTOGRAMS = """\
# TYPE rpc_duration_seconds histogram
# UNIT rpc_duration_seconds seconds
rpc_duration_seconds_bucket{{le="0.1"}} {b1} # {{trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}} 0.05 1700000055
rpc_duration_seconds_bucket{{le="1.0"}} {b2}
rpc_duration_seconds_bucket{{le="+Inf"}} {b3}
rpc_duration_seconds_sum {hsum}
rpc_duration_seconds_count {b3}
rpc_duration_seconds_created 1700000000
# TYPE upload_bytes histogram
upload_bytes_bucket{{le="1024"}} {b1}
upload_bytes_bucket{{le="+Inf"}} {b2}
upload_bytes_count {b2}
# EOF
"""
SUMMARIES = """\
# TYPE payload_bytes summary
payload_bytes{{quantile="0.5"}} {q50}
payload_bytes{{quantile="0.99"}} {q99}
payload_bytes_sum {ssum}
payload_bytes_count {scount}
# TYPE gc_seconds summary
gc_seconds_count {scount}
# EOF
"""
RESOURCES = """\
# TYPE target info
target_info{{env="prod",region="eu-west-1"}} 1
# TYPE queue_depth gauge
queue_depth{{queue="a",otel_scope_name="io.queue",otel_scope_version="2.1",otel_scope_team="x"}} {depth}
queue_depth{{queue="b"}} {depth}
# EOF
"""
TEXT_FORMAT = """\
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{{cpu="0",mode="idle"}} {ok}
node_cpu_seconds_created{{cpu="0",mode="idle"}} 1700000000
# HELP node_load1 1m load average.
node_load1 {memory}
# TYPE h histogram
h_bucket{{le="1"}} {b1}
h_bucket{{le="+Inf"}} {b2}
h_sum {hsum}
h_count {b2}
h_created 1600000000
"""

FIRST = {
    "ok": 100, "errors": 7, "memory": 2.5e6, "depth": 3, "b1": 3, "b2": 8, "b3": 10, "hsum": 4.2,
    "q50": 512, "q99": 2048, "ssum": 9000, "scount": 12, "exemplar": EXEMPLAR,
}  # fmt: skip
SECOND = {  # 60 s later; the 500s counter restarted (lower value, no _created to say so)
    **FIRST, "ok": 130, "errors": 2, "memory": 2.6e6, "depth": 1, "b1": 5, "b2": 14, "b3": 17,
    "hsum": 9.7, "q50": 600, "ssum": 9900, "scount": 13,
}  # fmt: skip

CASES = {
    "counters": (COUNTERS, None),
    "gauges": (GAUGES, None),
    "histograms": (HISTOGRAMS, None),
    "summaries": (SUMMARIES, None),
    "resources_and_scopes": (RESOURCES, None),
    "text_format": (TEXT_FORMAT, TEXT),
}


def run(exposition: str, content_type: str | None) -> dict[str, Any]:
    clock = Clock(T1)
    sink, adapter = build_sink(table=MemoryTable(), clock=clock)
    kind = {"content_type": content_type} if content_type else {}
    cycles = []
    for values in (FIRST, SECOND):
        report = SinkReport(sink.name, sink.kind)
        samples = scraped(exposition.format(**values), int(clock.now * 1000), **kind)
        requests = sink.prepare(samples, report).resolve(Deadline.after(30), report)
        sink.deliver(requests, Deadline.after(30), report)
        cycles.append(
            {
                "samples": len(samples),
                "sent_in_requests": sum(r.samples for r in requests),
                "dropped": dict(sorted(report.dropped.items())),
                "warnings": report.warnings,
            }
        )
        clock.now += 60
    bodies = [MessageToDict(decoded(body)) for body in adapter.bodies()]
    return {"cycles": cycles, "requests": bodies}


@pytest.mark.parametrize("case", CASES)
def test_translation_matches_golden_file(case: str) -> None:
    found = run(*CASES[case])
    for cycle in found["cycles"]:  # every sample sent (within a point) or dropped by reason
        assert cycle["sent_in_requests"] + sum(cycle["dropped"].values()) == cycle["samples"]
    path = GOLDEN / f"{case}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    assert found == json.loads(path.read_text())


def points(case: str) -> list[dict[str, Any]]:
    """The golden requests' data points, with their metric's name and kind, in order."""
    found = []
    for request in json.loads((GOLDEN / f"{case}.json").read_text())["requests"]:
        for resource in request["resourceMetrics"]:
            for scope in resource["scopeMetrics"]:
                for metric in scope["metrics"]:
                    kind = next(k for k in ("sum", "gauge", "histogram", "summary") if k in metric)
                    for point in metric[kind]["dataPoints"]:
                        found.append({"name": metric["name"], "kind": kind, **metric[kind], **point})
    return found


def test_counters_start_at_created_or_when_first_seen_and_again_after_a_reset() -> None:
    by_code = [p for p in points("counters") if p["name"] == "http_requests_total"]
    first_ns, second_ns = int(T1 * 1e9), int((T1 + 60) * 1e9)
    ok = [p for p in by_code if p["attributes"][0]["value"]["stringValue"] == "200"]
    errors = [p for p in by_code if p["attributes"][0]["value"]["stringValue"] == "500"]
    assert [p["startTimeUnixNano"] for p in ok] == ["1700000000250000000"] * 2  # _created
    assert [int(p["startTimeUnixNano"]) for p in errors] == [first_ns, second_ns - 1_000_000]
    assert all(
        p["isMonotonic"] and p["aggregationTemporality"] == "AGGREGATION_TEMPORALITY_CUMULATIVE" for p in ok
    )
    (exemplar,) = ok[0]["exemplars"]
    assert exemplar["timeUnixNano"] == "1700000050500000000"
    assert exemplar["filteredAttributes"] == [{"key": "user", "value": {"stringValue": "u1"}}]
    assert {"traceId", "spanId"} <= set(exemplar)


def test_histograms_are_explicit_bucket_histograms_with_decumulated_counts() -> None:
    rpc = [p for p in points("histograms") if p["name"] == "rpc_duration_seconds"]
    assert [p["bucketCounts"] for p in rpc] == [["3", "5", "2"], ["5", "9", "3"]]
    assert rpc[0]["explicitBounds"] == [0.1, 1.0] and rpc[0]["count"] == "10" and rpc[0]["sum"] == 4.2
    uploads = [p for p in points("histograms") if p["name"] == "upload_bytes"]
    assert "sum" not in uploads[0]  # no _sum: sum unset


def test_summaries_without_sum_have_sum_zero() -> None:
    gc = [p for p in points("summaries") if p["name"] == "gc_seconds"]
    assert [p.get("sum", 0) for p in gc] == [0, 0] and gc[0]["count"] == "12"


def test_target_info_is_resource_attributes_and_not_a_metric() -> None:
    found = json.loads((GOLDEN / "resources_and_scopes.json").read_text())
    (resource,) = found["requests"][0]["resourceMetrics"]
    attributes = {a["key"]: a["value"]["stringValue"] for a in resource["resource"]["attributes"]}
    assert attributes == {
        "service.name": "api",
        "service.instance.id": "10.0.0.1:8080",
        "env": "prod",
        "region": "eu-west-1",
    }
    scopes = {s["scope"]["name"]: s["scope"] for s in resource["scopeMetrics"]}
    assert scopes["scrape-push"] == {"name": "scrape-push", "version": "0.1.0"}
    assert scopes["io.queue"] == {
        "name": "io.queue",
        "version": "2.1",
        "attributes": [{"key": "team", "value": {"stringValue": "x"}}],
    }
    names = {m["name"] for s in resource["scopeMetrics"] for m in s["metrics"]}
    assert names == {"queue_depth"}


def test_what_cannot_be_translated_is_dropped_by_reason() -> None:
    exposition = """\
# TYPE ok gauge
ok 1
# TYPE gh gaugehistogram
gh_bucket{le="+Inf"} 1
gh_gcount 1
# TYPE nocount histogram
nocount_bucket{le="+Inf"} 1
nocount_sum 1
# TYPE falling histogram
falling_bucket{le="1"} 5
falling_bucket{le="+Inf"} 3
falling_count 3
# TYPE lost summary
lost{quantile="0.5"} 1
# EOF
"""
    sink, _ = build_sink()
    report = SinkReport(sink.name, sink.kind)
    requests = sink.prepare(scraped(exposition, 1_700_000_000_000), report).resolve(Deadline.after(5), report)
    assert report.dropped == Counter(
        {
            "gauge_histogram": 2,
            "histogram_without_count": 2,
            "invalid_histogram": 3,
            "summary_without_count": 1,
        }
    )
    assert [r.samples for r in requests] == [1]


def test_a_target_info_of_a_target_with_nothing_else_is_dropped() -> None:
    sink, _ = build_sink()
    report = SinkReport(sink.name, sink.kind)
    exposition = '# TYPE target info\ntarget_info{env="prod"} 1\n# EOF\n'
    requests = sink.prepare(scraped(exposition, 1_700_000_000_000), report).resolve(Deadline.after(5), report)
    assert requests == [] and report.dropped == Counter({"target_info_without_series": 1})


def test_without_a_state_table_unstarted_points_go_without_a_start_time() -> None:
    sink, adapter = build_sink()
    report = SinkReport(sink.name, sink.kind)
    exposition = "# TYPE c counter\nc_total 3\n# EOF\n"
    requests = sink.prepare(scraped(exposition, 1_700_000_000_000), report).resolve(Deadline.after(5), report)
    sink.deliver(requests, Deadline.after(5), report)
    point = decoded(adapter.bodies()[0]).resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]
    assert point.start_time_unix_nano == 0 and point.time_unix_nano == 1_700_000_000_000_000_000
    assert report.warnings == [
        "no state table (STATE_TABLE): 1 cumulative points without _created sent without a start time"
    ]


def test_the_series_map_is_bounded_and_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scrape_push.sinks.otlp.series.MAX_SERIES", 10)
    family = Family("g", "gauge")
    series = SeriesMap()
    for index in range(11):
        series.lookup(sample("g", (("i", str(index)), ("job", "j")), 1.0, 0, family))
    assert len(series.series) == 1  # the cap was reached: the map started again


def test_a_changed_help_or_unit_is_sent_from_the_next_scrape_on() -> None:
    sink, adapter = build_sink()
    for text in ("old words", "new words"):
        report = SinkReport(sink.name, sink.kind)
        exposition = f"# TYPE g gauge\n# HELP g {text}\ng 1\n# EOF\n"
        requests = sink.prepare(scraped(exposition, 1_700_000_000_000), report).resolve(
            Deadline.after(5), report
        )
        sink.deliver(requests, Deadline.after(5), report)
    descriptions = [
        decoded(body).resource_metrics[0].scope_metrics[0].metrics[0].description for body in adapter.bodies()
    ]
    assert descriptions == ["old words", "new words"]
