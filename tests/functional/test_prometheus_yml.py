"""A pasted prometheus.yml through the real handler: what its keys change in each scrape (the
request's headers, the format the answer is read in, target_limit, dropped targets) and where its
warnings show (the summary and, once per configuration decoded, the log)."""

from __future__ import annotations

import pytest

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job
from tests.support.http import OPENMETRICS_FORMAT, Response, serve
from tests.support.protobuf import CONTENT_TYPE, GAUGE, delimited, family, metric

OPENMETRICS_ONLY = b"# TYPE om gauge\nom 1 1700000000.5\n# EOF\n"
"""Fractional seconds as the timestamp: OpenMetrics reads it, text 0.0.4 refuses it."""


def by_job(summary: dict[str, object]) -> dict[str, dict[str, object]]:
    return {t["job"]: t for t in summary["targets"]}  # type: ignore[attr-defined,index]


def test_the_request_asks_for_the_jobs_protocols_and_encoding(emulated: Emulated) -> None:
    with serve(Response(b"a 1\n")) as endpoint:
        extra = "    scrape_protocols: [PrometheusText0.0.4]\n    enable_compression: false\n"
        emulated.put_config(
            config(job("plain", endpoint.address, extra=extra), job("default", endpoint.address))
        )
        emulated.invoke()
    plain, default = sorted(endpoint.requests, key=lambda r: r["Accept"])[::-1]
    assert (plain["Accept"], plain["Accept-Encoding"]) == (
        "text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
        "identity",
    )
    assert default["Accept"] == (
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
        "application/openmetrics-text;version=0.0.1;q=0.5,"
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    )
    assert default["Accept-Encoding"] == "gzip"


def test_an_answer_without_a_content_type_is_read_with_the_fallback_else_as_text(emulated: Emulated) -> None:
    fallback = "    fallback_scrape_protocol: OpenMetricsText1.0.0\n"
    with (
        serve(Response(OPENMETRICS_ONLY, content_type="")) as blank,
        serve(Response(OPENMETRICS_ONLY, content_type=OPENMETRICS_FORMAT)) as typed,
    ):
        emulated.put_config(
            config(
                job("fallback", blank.address, extra=fallback),
                job("text", blank.address),
                job("typed", typed.address),
            )
        )
        targets = by_job(emulated.invoke())
    assert (targets["fallback"]["up"], targets["fallback"]["samples"]) == (1, 1)
    assert (targets["typed"]["up"], targets["typed"]["samples"]) == (1, 1)
    assert targets["text"]["up"] == 0
    assert targets["text"]["error"] == (
        "invalid exposition: line 2: invalid timestamp '1700000000.5': expected integer milliseconds"
    )


def test_a_protobuf_answer_is_scraped_and_a_broken_one_fails_its_target_in_one_line(
    emulated: Emulated,
) -> None:
    body = delimited(family("temp", GAUGE, [metric({"room": "a"}, gauge=21.5), metric(gauge=3.0)]))
    with (
        serve(Response(body, content_type=CONTENT_TYPE)) as good,
        serve(Response(body[:-3], content_type=CONTENT_TYPE)) as cut,
    ):
        extra = "    scrape_protocols: [PrometheusProto, PrometheusText0.0.4]\n"
        emulated.put_config(
            config(job("proto", good.address, extra=extra), job("cut", cut.address, extra=extra))
        )
        targets = by_job(emulated.invoke())
    assert good.requests[0]["Accept"].startswith("application/vnd.google.protobuf;")
    assert (targets["proto"]["up"], targets["proto"]["samples"]) == (1, 2)
    assert targets["cut"]["up"] == 0
    assert targets["cut"]["error"] == (
        "invalid exposition: byte 0: metric family 1: message of 45 bytes runs past the end of the body"
    )


def test_a_job_over_its_target_limit_reports_each_target_down_without_scraping_it(
    emulated: Emulated,
) -> None:
    with serve(Response(b"a 1\n")) as one, serve(Response(b"a 1\n")) as two:
        emulated.put_config(
            "global: {target_limit: 1}\n"
            + config(job("limited", one.address, two.address), job("alone", one.address))
        )
        summary = emulated.invoke()
    limited = [t for t in summary["targets"] if t["job"] == "limited"]
    assert [(t["up"], t["samples"], t["error"]) for t in limited] == [
        (0, 0, "target_limit exceeded (number of targets: 2, limit: 1)")
    ] * 2
    assert by_job(summary)["alone"]["up"] == 1
    assert len(one.requests) == 1 and two.requests == []  # only the job within its limit scraped
    assert summary["targets_down"] == 2


def test_dropped_targets_are_listed_in_the_summary_not_in_the_log(
    emulated: Emulated, caplog: pytest.LogCaptureFixture
) -> None:
    extra = "    keep_dropped_targets: 1\n"
    extra += "    relabel_configs: [{action: drop, source_labels: [job], regex: gone}]\n"
    emulated.put_config(config(job("gone", "10.0.0.1:9100", "10.0.0.2:9100", extra=extra)))
    summary = emulated.invoke()
    assert summary["targets_dropped"] == 2
    assert summary["dropped_targets"] == [
        {
            "job": "gone",
            "labels": {
                "__address__": "10.0.0.1:9100",
                "__metrics_path__": "/metrics",
                "__scheme__": "http",
                "__scrape_interval__": "1m",
                "__scrape_timeout__": "2s",
                "job": "gone",
            },
        }
    ]
    (done,) = [r for r in caplog.records if r.getMessage() == "cycle done"]
    assert done.summary["targets_dropped"] == 2  # type: ignore[attr-defined]
    assert "dropped_targets" not in done.summary  # type: ignore[attr-defined]


def test_warnings_show_in_every_summary_and_once_in_the_log(
    emulated: Emulated, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(Response(b"a 1\n")) as endpoint:
        emulated.put_config("runtime: {gogc: 50}\n" + config(job("a", endpoint.address)))
        first, second = emulated.invoke(), emulated.invoke()
    expected = [
        "runtime.gogc: has no effect here: it tunes Go's garbage collector; scrape-push runs on Python "
        "(memory: the function's MemorySize) (line 1)"
    ]
    assert first["config"]["warnings"] == second["config"]["warnings"] == expected
    assert first["ok"] is True
    warned = [r for r in caplog.records if r.getMessage().startswith("configuration: ")]
    assert [(r.levelname, r.getMessage(), r.key) for r in warned] == [  # type: ignore[attr-defined]
        ("WARNING", f"configuration: {expected[0]}", "runtime.gogc")
    ]
