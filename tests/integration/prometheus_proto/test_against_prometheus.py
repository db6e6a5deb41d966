"""A protobuf endpoint (messages written by the tests from client_model's field numbers) read by
Prometheus 2.42 directly and by scrape-push remote-writing into a second Prometheus: both store
the same series with the same values (every classic type; float counts and gauge histograms,
where 2.42 differs from 3.x, are left out: docs/parser.md#protobuf)."""

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


def stored(server: Receiver) -> dict[tuple[tuple[str, str], ...], float]:
    """Every series of job ``proto`` but the scrape's own, at its latest value."""
    result = server.api("query", query='{job="proto",__name__!~"up|scrape_.*"}')["result"]
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in result}


def _config(target: str, url: str) -> str:
    return (
        "scrape_configs:\n  - job_name: proto\n"
        "    scrape_protocols: [PrometheusProto, OpenMetricsText1.0.0, PrometheusText0.0.4]\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
        f"remote_write:\n  - url: {url}\n    name: receiver\n"
    )


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
