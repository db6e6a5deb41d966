"""The real handler, end to end: emulated SSM and CloudWatch (moto server), real HTTP targets."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, start_http_server
from scrape_push.config.errors import ConfigError, ConfigLoadError
from scrape_push.runtime import RUNTIME
from scrape_push.ssm import ParameterStore

from tests.functional.conftest import Emulated
from tests.support.cloudwatch import metric_data
from tests.support.emf import emf_lines
from tests.support.http import OPENMETRICS_FORMAT, Response, refused_address, serve

NAMESPACE = "FunctionalTest"


def config(*jobs: str, dimensions: str = "[job, instance, method, le, quantile, code]") -> str:
    return (
        "scrape_configs:\n"
        + "".join(jobs)
        + f"cloudwatch:\n  - namespace: {NAMESPACE}\n    dimensions: {dimensions}\n"
    )


def job(name: str, *targets: str, timeout: str = "2s", extra: str = "") -> str:
    listed = ", ".join(f'"{t}"' for t in targets)
    head = f"  - job_name: {name}\n    scrape_timeout: {timeout}\n{extra}"
    return head + f"    static_configs:\n      - targets: [{listed}]\n"


@pytest.fixture
def app_target() -> Iterator[str]:
    """A real prometheus_client app with a counter, gauge, histogram and summary."""
    registry = CollectorRegistry()
    requests_total = Counter("app_requests", "Requests", ["method"], registry=registry)
    Gauge("app_temperature_celsius", "Temperature", registry=registry).set(21.5)
    latency = Histogram("app_latency_seconds", "Latency", buckets=(0.1, 1.0), registry=registry)
    size = Summary("app_size_bytes", "Sizes", registry=registry)
    requests_total.labels("GET").inc(3)
    requests_total.labels("POST").inc(1)
    for value in (0.05, 0.5, 5.0):
        latency.observe(value)
    size.observe(100)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def read_back(emulated: Emulated, name: str, **dims: str) -> list[float]:
    return [v for _, v in metric_data(emulated.client("cloudwatch"), NAMESPACE, name, "Maximum", **dims)]


def metric_names(emulated: Emulated) -> set[str]:
    pages = emulated.client("cloudwatch").get_paginator("list_metrics").paginate(Namespace=NAMESPACE)
    return {m["MetricName"] for page in pages for m in page["Metrics"]}


def sink(summary: dict[str, Any]) -> dict[str, Any]:
    (report,) = summary["sinks"]
    return dict(report)


def test_scrape_and_push_a_real_app(emulated: Emulated, app_target: str) -> None:
    emulated.put_config(config(job("app", app_target)))
    summary = emulated.invoke()
    (target,) = summary["targets"]
    assert target["up"] == 1 and target["error"] is None and target["samples"] > 10
    report = sink(summary)
    assert report["ok"] and report["failed"] == 0 and report["dropped"] == {}
    assert report["sent"] == summary["samples"] == target["samples"] + 5
    base = {"job": "app", "instance": app_target}
    assert read_back(emulated, "app_requests_total", **base, method="GET") == [3.0]
    assert read_back(emulated, "app_temperature_celsius", **base) == [21.5]
    assert read_back(emulated, "app_latency_seconds_bucket", **base, le="1.0") == [2.0]
    assert read_back(emulated, "app_latency_seconds_count", **base) == [3.0]
    assert read_back(emulated, "app_size_bytes_sum", **base) == [100.0]
    assert read_back(emulated, "up", **base) == [1.0]
    assert {"scrape_duration_seconds", "scrape_samples_scraped"} <= metric_names(emulated)
    assert emulated.strict.requests, "the strict checker saw the requests"


def test_jobs_event_restricts_the_cycle(emulated: Emulated, app_target: str) -> None:
    emulated.put_config(config(job("app", app_target), job("other", refused_address())))
    summary = emulated.invoke({"jobs": ["other"]})
    assert summary["jobs"] == ["other"]
    assert [t["job"] for t in summary["targets"]] == ["other"]


def test_a_down_slow_or_garbage_target_never_affects_the_others(emulated: Emulated, app_target: str) -> None:
    release = threading.Event()
    garbage = Response(b"this is { not an exposition\n")
    with serve(Response(hang=release)) as slow, serve(garbage) as bad, serve(Response(status=503)) as err:
        refused = refused_address()
        emulated.put_config(
            config(
                job("app", app_target),
                job("refused", refused),
                job("slow", slow.address, timeout="1s"),
                job("garbage", bad.address),
                job("error", err.address),
            )
        )
        try:
            summary = emulated.invoke()
        finally:
            release.set()
    by_job = {t["job"]: t for t in summary["targets"]}
    assert by_job["app"]["up"] == 1
    assert by_job["refused"] == {
        **by_job["refused"],
        "up": 0,
        "error": "connection failed: connection refused",
    }
    assert by_job["slow"]["error"] == "timed out after 1s"
    assert by_job["garbage"]["error"].startswith("invalid exposition: ")
    assert by_job["error"]["error"] == "server returned HTTP status 503 Service Unavailable"
    assert summary["targets_up"] == 1 and summary["targets_down"] == 4
    base = {"job": "refused", "instance": refused}
    assert read_back(emulated, "up", **base) == [0.0]
    assert read_back(emulated, "app_temperature_celsius", job="app", instance=app_target) == [21.5]
    assert sink(summary)["failed"] == 0


def test_openmetrics_gzip_and_body_size_limit(emulated: Emulated) -> None:
    body = b"# TYPE om_value gauge\nom_value 42.0\n# EOF\n"
    big = b"# TYPE big gauge\n" + b"".join(b'big{i="%d"} 1\n' % i for i in range(5000))
    with serve(Response(body, OPENMETRICS_FORMAT, gzip=True)) as om, serve(Response(big)) as huge:
        emulated.put_config(
            config(job("om", om.address), job("huge", huge.address, extra="    body_size_limit: 10KB\n"))
        )
        summary = emulated.invoke()
        assert "openmetrics-text" in om.requests[0]["Accept"].split(",")[0]
        assert om.requests[0]["Accept-Encoding"] == "gzip"
    by_job = {t["job"]: t for t in summary["targets"]}
    assert by_job["om"]["up"] == 1 and by_job["om"]["samples"] == 1
    assert by_job["huge"]["error"] == "body size limit of 10240 bytes exceeded"
    assert read_back(emulated, "om_value", job="om", instance=by_job["om"]["instance"]) == [42.0]


def test_nan_sample_is_dropped_and_counted_the_rest_delivered(emulated: Emulated) -> None:
    body = b"a 1\nb NaN\nc +Inf\nd 4\n"
    with serve(Response(body)) as target:
        emulated.put_config(config(job("nan", target.address)))
        summary = emulated.invoke()
    report = sink(summary)
    assert report["dropped"] == {"nan_or_inf": 2}
    assert report["sent"] == 2 + 5
    assert report["ok"]
    assert {"a", "d"} <= metric_names(emulated)
    assert not {"b", "c"} & metric_names(emulated)
    assert all(not math.isnan(d["Value"]) for d in emulated.strict.datums)


def test_2600_samples_are_split_into_requests_within_limits(emulated: Emulated) -> None:
    body = b"".join(b'series_%d{i="%d"} %d\n' % (i, i, i) for i in range(2600))
    with serve(Response(body)) as target:
        emulated.put_config(config(job("big", target.address)))
        summary = emulated.invoke()
    report = sink(summary)
    assert report["sent"] == 2605 and report["requests"] == 3
    assert sorted(len(r["MetricData"]) for r in emulated.strict.requests) == [605, 1000, 1000]  # concurrent
    assert read_back(emulated, "series_2599", job="big", instance=target.address) == [2599.0]


def test_a_rejected_request_does_not_stop_the_others(emulated: Emulated) -> None:
    def mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["reject"] = params["MetricData"][0]["MetricName"] == "series_0"

    def reject(context: dict[str, Any], **_: Any) -> Any:
        if context.get("reject"):
            return AWSResponse("http://test", 400, {}, None), {
                "Error": {"Code": "InvalidParameterValue", "Message": "rejected by test"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        return None

    RUNTIME.aws.session().events.register("before-parameter-build.cloudwatch.PutMetricData", mark)
    RUNTIME.aws.session().events.register("before-call.cloudwatch.PutMetricData", reject)
    body = b"".join(b"series_%d %d\n" % (i, i) for i in range(1500))
    with serve(Response(body)) as target:
        emulated.put_config(config(job("big", target.address)))
        summary = emulated.invoke()
    report = sink(summary)
    counts = (report["sent"], report["rejected"], report["failed"], report["failed_requests"])
    assert counts == (505, 1000, 0, 1)
    assert report["errors"] == [
        "PutMetricData rejected: InvalidParameterValue: rejected by test (1000 samples rejected, not retried)"
    ]
    assert not report["ok"] and not summary["ok"]
    assert "series_1499" in metric_names(emulated)
    assert "series_0" not in metric_names(emulated)


def test_secure_string_config_and_per_service_endpoints(
    emulated: Emulated, app_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulated.put_config(config(job("app", app_target)), secure=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{refused_address()}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", emulated.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH", emulated.url)
    summary = emulated.invoke()
    assert summary["targets_up"] == 1 and sink(summary)["ok"]


BAD_CONFIGS = {
    "unknown key": (
        "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targts: []\n",
        "scrape_configs[0].static_configs[0].targts: unknown key; did you mean 'targets'? (line 4)",
    ),
    "wrong type": (
        "scrape_configs:\n  - job_name: a\n    scrape_timeout: 5\n",
        "scrape_configs[0].scrape_timeout: expected a duration",
    ),
    "invalid YAML": ("scrape_configs: [\n", "invalid YAML"),
}


@pytest.mark.parametrize("text,message", BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_invalid_config_fails_loudly_and_pushes_nothing(
    emulated: Emulated, app_target: str, text: str, message: str
) -> None:
    emulated.put_config(text + f"cloudwatch:\n  - namespace: {NAMESPACE}\n")
    with pytest.raises(ConfigError) as caught:
        emulated.invoke()
    assert message in str(caught.value)
    assert "SSM parameter /scrape-push/config" in str(caught.value)
    assert emulated.strict.requests == []


def test_missing_parameter_fails_loudly(emulated: Emulated) -> None:
    with pytest.raises(ConfigLoadError, match="cannot read SSM parameter '/scrape-push/config'"):
        emulated.invoke()


def test_targets_are_scraped_concurrently(emulated: Emulated) -> None:
    # Each target answers only once all three requests are in flight at the same time, so the
    # cycle succeeds only if the scrapes really run concurrently.
    barrier = threading.Barrier(3, timeout=5)

    def respond(_path: str) -> Response:
        barrier.wait()
        return Response(b"ready 1\n")

    with serve(respond) as a, serve(respond) as b, serve(respond) as c:
        emulated.put_config(config(job("x", a.address, b.address, c.address, timeout="4s")))
        summary = emulated.invoke()
    assert [t["up"] for t in summary["targets"]] == [1, 1, 1]


def test_config_is_cached_across_warm_invocations(
    emulated: Emulated, app_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", "60")
    fetches: list[str] = []
    call = ParameterStore.call

    def counted(store: ParameterStore, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        fetches.append(operation)
        return call(store, operation, request)

    monkeypatch.setattr(ParameterStore, "call", counted)
    emulated.put_config(config(job("app", app_target)))
    first = emulated.invoke()
    emulated.put_config(config(job("renamed", app_target)))
    second = emulated.invoke()
    assert fetches == ["GetParameter"]
    assert first["config"] == second["config"]
    assert [t["job"] for t in second["targets"]] == ["app"]


def test_limits_redirects_and_proxy(emulated: Emulated) -> None:
    body = b'a{x="1"} 1\na{x="2"} 2\na{x="3"} 3\n'

    def respond(path: str) -> Response:
        if path == "/moved":
            return Response(status=302, headers={"Location": "/metrics"})
        return Response(body)

    with serve(respond) as target, serve(Response(body)) as proxy:
        emulated.put_config(
            config(
                job("limited", target.address, extra="    sample_limit: 2\n"),
                job("redirected", target.address, extra="    metrics_path: /moved\n"),
                job(
                    "not_followed",
                    target.address,
                    extra="    metrics_path: /moved\n    follow_redirects: false\n",
                ),
                job(
                    "proxied",
                    "scraped-through-proxy.invalid:9100",
                    extra=f"    proxy_url: http://{proxy.address}\n",
                ),
            )
        )
        summary = emulated.invoke()
        proxied_paths = [r["path"] for r in proxy.requests]
    by_job = {t["job"]: t for t in summary["targets"]}
    assert by_job["limited"]["up"] == 0
    assert by_job["limited"]["error"] == "sample limit exceeded (3 samples, limit 2)"
    assert by_job["redirected"]["up"] == 1 and by_job["redirected"]["samples"] == 3
    assert by_job["not_followed"]["error"] == "server returned HTTP status 302 Found"
    assert by_job["proxied"]["up"] == 1
    assert proxied_paths == ["http://scraped-through-proxy.invalid:9100/metrics"]


def test_warm_function_keeps_the_last_valid_config(emulated: Emulated, app_target: str) -> None:
    emulated.put_config(config(job("app", app_target)))
    good = emulated.invoke()
    emulated.put_config(config(job("app", app_target)).replace("job_name", "job_nme"))
    kept = emulated.invoke()
    assert kept["config"]["digest"] == good["config"]["digest"]
    assert kept["config"]["error"].startswith("invalid configuration in SSM parameter /scrape-push/config: ")
    assert (
        "scrape_configs[0].job_nme: unknown key; did you mean 'job_name'? (line 2)" in kept["config"]["error"]
    )
    assert kept["ok"] is False and kept["targets_up"] == 1
    emulated.put_config(config(job("fixed", app_target)))
    fixed = emulated.invoke()
    assert fixed["config"]["error"] is None and [t["job"] for t in fixed["targets"]] == ["fixed"]


def test_config_split_over_a_parameter_path(
    emulated: Emulated, app_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFIG_PARAMETER", "/scrape-push/")
    sinks = config().split("cloudwatch:", 1)[1]
    emulated.put_config(f"cloudwatch:{sinks}", name="/scrape-push/sinks")
    emulated.put_config("scrape_configs:\n" + job("b", app_target), name="/scrape-push/jobs/b")
    emulated.put_config("scrape_configs:\n" + job("a", app_target), name="/scrape-push/jobs/a", secure=True)
    summary = emulated.invoke()
    assert summary["config"]["source"] == "SSM path /scrape-push/"
    assert [t["job"] for t in summary["targets"]] == ["a", "b"]
    assert sink(summary)["ok"]


def test_conflicting_fragments_are_rejected(
    emulated: Emulated, app_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONFIG_PARAMETER", "/scrape-push/")
    emulated.put_config(
        "global: {scrape_timeout: 5s}\nscrape_configs:\n" + job("a", app_target), name="/scrape-push/one"
    )
    emulated.put_config(
        "global: {scrape_timeout: 4s}\nscrape_configs:\n" + job("a", app_target), name="/scrape-push/two"
    )
    with pytest.raises(ConfigError) as caught:
        emulated.invoke()
    assert [str(p) for p in caught.value.problems] == [
        "/scrape-push/two: global: set in both /scrape-push/one and /scrape-push/two; set it in one fragment "
        "(line 1)",
        "/scrape-push/two: scrape_configs[0].job_name: job 'a' is already defined in /scrape-push/one on "
        "line 3 (line 3)",
    ]


def test_self_metrics_report_an_invalid_config_as_emf(
    emulated: Emulated, app_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emulated.put_config(config(job("app", app_target)))
    emulated.invoke()
    emulated.put_config("scrape_configs: [{job_name: app, bogus: 1}]\n")
    capsys.readouterr()
    emulated.invoke()
    docs = emf_lines(capsys.readouterr().out)
    overall = next(d for d in docs if "ConfigInvalid" in d)
    assert overall["ConfigInvalid"] == [1.0] and overall["TargetsUp"] == [1.0]
    assert overall["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ScrapePush/Self"
    per_sink = next(d for d in docs if "SamplesSent" in d)
    assert per_sink["Sink"] == f"cloudwatch/{NAMESPACE}" and per_sink["SamplesSent"][0] > 0
