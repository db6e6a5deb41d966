"""The OTLP sink through the real handler: a real prometheus_client target, a text one and a
protobuf one with a native histogram, the emulated account (SSM, DynamoDB, S3), and a local OTLP
receiver that decodes every request with opentelemetry-proto and checks its SigV4 signature."""

from __future__ import annotations

import json
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from scrape_push.runtime import RUNTIME

from tests.functional.conftest import Emulated
from tests.functional.test_handler import app_target, job
from tests.support import protobuf as pb
from tests.support.http import QuietHandler, Response, serve, serving
from tests.support.otlp import Receiver, partial, receive, status

__all__ = ["app_target"]  # the fixture, used by name

JOBS_TEXT = b"# TYPE jobs_total counter\njobs_total 5\n"
TOKEN = "otlp-token-3c1d9eZZ"


def document(entry: str, *jobs: str) -> str:
    return "scrape_configs:\n" + "".join(jobs) + f"otlp:\n  - {entry}\n"


def otlp_sink(summary: dict[str, Any]) -> dict[str, Any]:
    (found,) = [s for s in summary["sinks"] if s["kind"] == "otlp"]
    return found


def metrics_of(receiver: Receiver, index: int) -> dict[str, Any]:
    """The metrics of request ``index`` by name, with their resource's attributes."""
    found = {}
    for resource in receiver.received[index].as_dict()["resourceMetrics"]:
        attributes = {a["key"]: a["value"]["stringValue"] for a in resource["resource"]["attributes"]}
        for scope in resource["scopeMetrics"]:
            for metric in scope["metrics"]:
                found[metric["name"]] = {**metric, "resource": attributes}
    return found


def test_cloudwatch_otlp_signed_translated_and_started_once_across_cold_starts(
    emulated: Emulated, state_table: str, app_target: str
) -> None:
    with receive() as receiver, serve(Response(JOBS_TEXT)) as text_target:
        entry = f"{{cloudwatch: {{region: eu-west-1}}, endpoint: '{receiver.url}'}}"
        emulated.put_config(document(entry, job("app", app_target), job("batch", text_target.address)))
        summaries = [emulated.invoke(), emulated.invoke()]
        RUNTIME.reset()  # a new execution environment: nothing warm is left
        summaries.append(emulated.invoke())
    for summary in summaries:
        found = otlp_sink(summary)
        assert summary["ok"] and found["name"] == "otlp/cloudwatch-eu-west-1"
        assert found["sent"] == found["offered"] > 0 and found["dropped"] == {} and found["warnings"] == []
    assert len(receiver.received) == 3  # one request a cycle: well within 1,000 points
    for request in receiver.received:
        assert request.signature_problem("eu-west-1", "monitoring") is None
        assert request.headers["Content-Encoding"] == "gzip"
        assert request.headers["Content-Type"] == "application/x-protobuf"

    metrics = metrics_of(receiver, 0)
    counter = metrics["app_requests_total"]
    assert counter["resource"] == {"service.name": "app", "service.instance.id": app_target}
    assert counter["sum"]["isMonotonic"] and counter["description"] == "Requests"
    by_method = {p["attributes"][0]["value"]["stringValue"]: p for p in counter["sum"]["dataPoints"]}
    assert by_method["GET"]["asDouble"] == 3.0 and "startTimeUnixNano" in by_method["GET"]  # _created
    histogram = metrics["app_latency_seconds"]["histogram"]["dataPoints"][0]
    assert (histogram["bucketCounts"], histogram["explicitBounds"]) == (["1", "1", "1"], [0.1, 1.0])
    assert metrics["app_size_bytes"]["summary"]["dataPoints"][0]["count"] == "1"
    assert metrics["up"]["gauge"]["dataPoints"][0]["asDouble"] == 1.0

    starts = [metrics_of(receiver, i)["jobs_total"]["sum"]["dataPoints"][0] for i in range(3)]
    assert starts[0]["startTimeUnixNano"] == starts[0]["timeUnixNano"]  # first seen
    assert {s["startTimeUnixNano"] for s in starts} == {starts[0]["startTimeUnixNano"]}  # kept
    assert len({s["timeUnixNano"] for s in starts}) == 3
    items = emulated.client("dynamodb").scan(TableName=state_table)["Items"]
    # One item, of the text target: every stream of the prometheus_client app exposes _created.
    assert sum(1 for item in items if item["pk"]["S"].startswith("otlp1#")) == 1


def test_a_collector_with_a_bearer_token_from_ssm(emulated: Emulated, app_target: str) -> None:
    emulated.client("ssm").put_parameter(Name="/scrape-push/secrets/otlp", Value=TOKEN, Type="SecureString")
    with receive() as receiver:
        entry = (
            f"{{endpoint: '{receiver.url}', headers: {{X-Scope-OrgID: team-a}}, "
            "authorization: {credentials_ssm_parameter: /scrape-push/secrets/otlp}}"
        )
        emulated.put_config(document(entry, job("app", app_target)))
        summary = emulated.invoke()
    assert summary["ok"] and otlp_sink(summary)["sent"] == otlp_sink(summary)["offered"]
    (request,) = receiver.received
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert TOKEN not in json.dumps(summary)
    # No state table: counters with _created start there, the others are sent without a start.
    metrics = metrics_of(receiver, 0)
    assert "startTimeUnixNano" in metrics["app_requests_total"]["sum"]["dataPoints"][0]


def test_an_outage_waits_in_the_backlog_and_is_replayed_in_order(
    emulated: Emulated, backlog: str, app_target: str
) -> None:
    down = status(503, "unavailable", {"Retry-After": "120"})  # longer than the invocation: no wait
    with receive(down) as receiver:
        emulated.put_config(document(f"{{endpoint: '{receiver.url}'}}", job("app", app_target)))
        first = emulated.invoke()
        second = emulated.invoke()
    failed = otlp_sink(first)
    assert (failed["spilled"], failed["sent"], first["ok"]) == (failed["offered"], 0, False)
    assert failed["errors"][0].endswith("last: HTTP 503: unavailable")
    recovered = otlp_sink(second)
    assert recovered["backlog"]["replayed"] == failed["offered"] and recovered["sent"] == recovered["offered"]
    assert second["ok"] and recovered["backlog"]["objects"] == 0
    # The refused attempt, then the first cycle replayed, then the second cycle: in scrape order.
    times = [metrics_of(receiver, i)["up"]["gauge"]["dataPoints"][0]["timeUnixNano"] for i in (1, 2)]
    assert times[0] < times[1] and receiver.received[0].body == receiver.received[1].body
    assert not emulated.client("s3").list_objects_v2(Bucket=backlog, Prefix="backlog/").get("Contents")


def test_refusals_are_rejected_and_kept_apart_and_a_partial_success_counts_its_points(
    emulated: Emulated, backlog: str
) -> None:
    script = (status(400, "invalid metric"), partial(2, "2 points out of range"))
    with receive(*script) as receiver, serve(Response(JOBS_TEXT)) as target:
        emulated.put_config(document(f"{{endpoint: '{receiver.url}'}}", job("batch", target.address)))
        refused = otlp_sink(emulated.invoke())
        part = otlp_sink(emulated.invoke())
    assert refused["rejected"] == refused["offered"] and refused["spilled"] == 0
    assert refused["errors"][0].startswith("export rejected with HTTP 400: invalid metric")
    kept = emulated.client("s3").list_objects_v2(Bucket=backlog, Prefix="rejected/").get("Contents", [])
    assert len(kept) == 1
    assert (part["rejected"], part["sent"]) == (
        2,
        part["offered"] - 2,
    )  # a counter and gauges: a sample a point
    assert part["errors"] == [
        "2 data points refused: 2 points out of range (2 samples rejected, not retried)"
    ]
    assert len(receiver.received) == 2  # neither was retried


def test_a_token_echoed_by_the_receiver_is_scrubbed_everywhere(
    emulated: Emulated, backlog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emulated.client("ssm").put_parameter(Name="/scrape-push/secrets/otlp", Value=TOKEN, Type="SecureString")

    class Echo(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.answer(400, f"bad; you sent {self.headers.get('Authorization')}".encode(), {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    with serving(server), serve(Response(JOBS_TEXT)) as target:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/metrics"
        entry = (
            f"{{endpoint: '{url}', authorization: {{credentials_ssm_parameter: /scrape-push/secrets/otlp}}}}"
        )
        emulated.put_config(document(entry, job("batch", target.address)))
        summary = emulated.invoke()
    found = otlp_sink(summary)
    assert found["rejected"] == found["offered"] and "bad; you sent" in found["errors"][0]
    s3 = emulated.client("s3")
    kept = s3.list_objects_v2(Bucket=backlog, Prefix="rejected/")["Contents"]
    stored = b"".join(s3.get_object(Bucket=backlog, Key=o["Key"])["Body"].read() for o in kept)
    logs = capsys.readouterr()
    for text in (json.dumps(summary), logs.out, logs.err, stored.decode("utf-8", "replace")):
        assert TOKEN not in text


def test_a_native_histogram_is_an_exponential_histogram_and_its_end_a_point_without_value(
    emulated: Emulated,
) -> None:
    native = pb.native_part(2, 1e-6, 1, positive=[(0, [2, 3]), (1, [1])], negative=[(-1, [4])])
    histogram = pb.family(
        "shop_latency_seconds", pb.HISTOGRAM, [pb.metric(histogram=pb.histogram(11, 4.5, native=native))]
    )
    gauge = pb.family("shop_open", pb.GAUGE, [pb.metric(gauge=1.0)])
    served = {"body": pb.delimited(histogram, gauge)}
    extra = "    scrape_native_histograms: true\n"
    with (
        receive() as receiver,
        serve(lambda _path: Response(served["body"], content_type=pb.CONTENT_TYPE)) as target,
    ):
        emulated.put_config(
            document(f"{{endpoint: '{receiver.url}'}}", job("shop", target.address, extra=extra))
        )
        first = emulated.invoke()
        served["body"] = pb.delimited(gauge)  # the histogram is gone: its series gets a marker
        second = emulated.invoke()
    assert first["ok"] and second["ok"]
    assert otlp_sink(first)["sent"] == otlp_sink(first)["offered"] and otlp_sink(first)["dropped"] == {}
    assert otlp_sink(second)["adjusted"] == {"stale_marker_as_no_recorded_value": 1}
    data = metrics_of(receiver, 0)["shop_latency_seconds"]["exponentialHistogram"]
    (point,) = data["dataPoints"]
    assert data["aggregationTemporality"] == "AGGREGATION_TEMPORALITY_CUMULATIVE"
    assert (point["scale"], point["count"], point["sum"], point["zeroCount"]) == (2, "11", 4.5, "1")
    assert point["positive"] == {"offset": -1, "bucketCounts": ["2", "3", "0", "1"]}
    assert point["negative"] == {"offset": -2, "bucketCounts": ["4"]}
    (marker,) = metrics_of(receiver, 1)["shop_latency_seconds"]["exponentialHistogram"]["dataPoints"]
    assert marker["flags"] == 1 and "count" not in marker and "positive" not in marker
    assert int(marker["timeUnixNano"]) > int(point["timeUnixNano"])
