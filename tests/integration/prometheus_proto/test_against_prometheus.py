"""A protobuf endpoint (messages written by the tests from client_model's field numbers) read by
Prometheus 2.42 directly and by scrape-push remote-writing into a second Prometheus: both store
the same series with the same values (every classic type; float counts and gauge histograms,
where 2.42 differs from 3.x, are left out: docs/parser.md#protobuf), and native histograms with
negative buckets, zero buckets and float counts, read with scrape_native_histograms and sent
with send_native_histograms, agree bucket by bucket through the query API."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from devtools import processes
from tests.integration.prometheus_proto.conftest import scraper
from tests.integration.remote_write.conftest import Receiver
from tests.support.http import Response, serve
from tests.support.integration import started
from tests.support.protobuf import (
    CONTENT_TYPE,
    COUNTER,
    GAUGE,
    HISTOGRAM,
    SUMMARY,
    UNTYPED,
    delimited,
    exemplar,
    family,
    histogram,
    metric,
    native_part,
    summary,
)

pytestmark = pytest.mark.integration

CLASSIC = delimited(
    family(
        "shop_orders_total",
        COUNTER,
        [
            metric(
                {"code": "200", "method": "GET"}, counter=1027, counter_exemplar=exemplar({"t": "a"}, 1, 5)
            ),
            metric({"code": "500", "empty": ""}, counter=3),
        ],
        help_="Orders.",
    ),
    family("shop_temperature_celsius", GAUGE, [metric({"zone": "A"}, gauge=-21.5)], unit="celsius"),
    family("shop_untyped", UNTYPED, [metric(untyped=7)]),
    family(
        "shop_rpc_seconds",
        SUMMARY,
        [metric({"m": "get"}, summary=summary(9, 4.5, [(0.5, 0.25), (0.99, 1.5), (1, 2)]))],
    ),
    family(
        "shop_latency_seconds",
        HISTOGRAM,
        [
            metric({"h": "a"}, histogram=histogram(7, 1.25, [(0.1, 5), (1e-5, 5), (2.5e6, 6)])),
            metric({"h": "b"}, histogram=histogram(2, 0.5, [(1, 1), (math.inf, 2)])),
        ],
    ),
)


NATIVE = delimited(
    family(
        "shop_native_seconds",
        HISTOGRAM,
        [
            metric(
                {"kind": "integer"},
                histogram=histogram(
                    15,
                    -2.5,
                    native=native_part(
                        3, 2**-128, 2, positive=[(-1, [2, 0, 3]), (2, [2])], negative=[(-2, [1, 2]), (3, [3])]
                    ),
                ),
            ),
            metric(
                {"kind": "float"},
                histogram=histogram(
                    0,
                    7.25,
                    count_float=10.5,
                    native=native_part(0, 0.001, 1.5, positive=[(0, [1.0, 3.0, 5.0])], floats=True),
                ),
            ),
            metric(
                {"kind": "coarse"},
                histogram=histogram(5, 9.0, native=native_part(-4, 0.5, 1, positive=[(1, [1, 1]), (5, [2])])),
            ),
        ],
    ),
)
"""Native histograms: negative buckets, zero buckets, an empty bucket inside a span, float
counts, the coarsest schema."""


def stored(server: Receiver) -> dict[tuple[tuple[str, str], ...], object]:
    """Every series of job ``proto`` but the scrape's own, at its latest value (a float, or a
    native histogram's count, sum and buckets as the query API gives them)."""
    result = server.api("query", query='{job="proto",__name__!~"up|scrape_.*"}')["result"]
    return {
        tuple(sorted(r["metric"].items())): float(r["value"][1]) if "value" in r else r["histogram"][1]
        for r in result
    }


def _config(target: str, url: str, extra: str = "", sink: str = "") -> str:
    return (
        "scrape_configs:\n  - job_name: proto\n"
        "    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]\n"
        f"    static_configs:\n      - targets: ['{target}']\n{extra}"
        f"remote_write:\n  - url: {url}\n    name: receiver\n{sink}"
    )


def test_native_histograms_are_stored_bucket_by_bucket_as_prometheus_stores_them(
    emulated: Any, native_receiver: Receiver, tmp_path: Path
) -> None:
    body = CLASSIC + NATIVE
    served = serve(Response(body, content_type=CONTENT_TYPE))
    with served as endpoint, started(scraper(tmp_path / "scraper", endpoint.address)) as direct:
        processes.wait_until(lambda: len(stored(direct)) > 0, 30.0)
        extra = "    scrape_native_histograms: true\n"
        sink = "    send_native_histograms: true\n"
        emulated.put_config(_config(endpoint.address, native_receiver.write_url, extra, sink))
        summary = emulated.invoke()
        (report,) = summary["sinks"]
        assert report["ok"] and report["sent"] == report["offered"], report
        expected = stored(direct)
    native = {labels: value for labels, value in expected.items() if isinstance(value, dict)}
    assert len(native) == 3, sorted(expected)
    integer = native[
        (
            ("__name__", "shop_native_seconds"),
            ("instance", endpoint.address),
            ("job", "proto"),
            ("kind", "integer"),
        )
    ]
    assert len(integer["buckets"]) == 1 + 3 + 3  # the zero bucket, three positive, three negative
    assert stored(native_receiver) == expected


def test_every_classic_type_is_stored_as_prometheus_stores_it(
    emulated: Any, native_receiver: Receiver, tmp_path: Path
) -> None:
    with serve(Response(CLASSIC, content_type=CONTENT_TYPE)) as endpoint:
        with started(scraper(tmp_path / "scraper", endpoint.address)) as direct:
            processes.wait_until(lambda: len(stored(direct)) > 0, 30.0)
            emulated.put_config(_config(endpoint.address, native_receiver.write_url))
            summary = emulated.invoke()
            (sink,) = summary["sinks"]
            assert sink["ok"] and sink["sent"] == sink["offered"], sink
            expected = stored(direct)
        assert endpoint.requests[0]["Accept"].startswith("application/vnd.google.protobuf;")
    assert len(expected) == 2 + 1 + 1 + 5 + 6 + 4, sorted(expected)  # h="b" has its own +Inf
    assert stored(native_receiver) == expected
