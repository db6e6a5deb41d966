"""The real handler scrapes real endpoints and remote-writes into a real Prometheus 2.42.

A capturing proxy in front of the receiver decodes each request (headers, sorted labels,
metadata: Prometheus 2.42 accepts remote-written metadata but does not store it).
"""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push import __version__

from tests.integration.remote_write.conftest import Receiver
from tests.support.http import Response, refused_address, serve
from tests.support.remote_write import Reply, capture, series_of

pytestmark = pytest.mark.integration

EXPOSITION = b"""# HELP shop_orders_total Orders placed.
# TYPE shop_orders_total counter
shop_orders_total{code="200",method="GET"} 1027
shop_orders_total{code="500",method="POST"} 3
# HELP shop_temperature_celsius Oven temperature.
# TYPE shop_temperature_celsius gauge
shop_temperature_celsius{Zone="A"} 21.5
# HELP shop_latency_seconds Latency.
# TYPE shop_latency_seconds histogram
shop_latency_seconds_bucket{le="0.1"} 5
shop_latency_seconds_bucket{le="+Inf"} 7
shop_latency_seconds_sum 1.25
shop_latency_seconds_count 7
"""


def _config(target: str, url: str, extra: str = "") -> str:
    return (
        f"scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"
        f"remote_write:\n  - url: {url}\n    name: receiver\n{extra}"
    )


def _sink(summary: dict[str, Any]) -> dict[str, Any]:
    (sink,) = summary["sinks"]
    assert sink["kind"] == "remote_write"
    return dict(sink)


def test_every_scraped_series_is_stored_with_its_labels_and_value(emulated: Any, receiver: Receiver) -> None:
    with serve(Response(EXPOSITION)) as endpoint, capture(upstream=receiver.write_url) as proxy:
        emulated.put_config(_config(endpoint.address, proxy.url))
        summary = emulated.invoke()
        sink = _sink(summary)
        assert sink["ok"] and sink["sent"] == sink["offered"] == summary["samples"] == 12, sink

    data = [c for c in proxy.requests if c.request.timeseries]
    sent: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
    for captured in data:
        headers = captured.headers
        assert headers["Content-Encoding"] == "snappy"
        assert headers["Content-Type"] == "application/x-protobuf"
        assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
        assert headers["User-Agent"] == f"scrape-push/{__version__}"
        sent.update(series_of(captured.request))
    for labels in sent:
        names = [name for name, _ in labels]
        assert names == sorted(names) and "__name__" in names and len(set(names)) == len(names)
    assert sent_key(sent, "shop_temperature_celsius")[:2] == (
        ("Zone", "A"),
        ("__name__", "shop_temperature_celsius"),
    )

    metadata = {m.metric_family_name: m for c in proxy.requests for m in c.request.metadata}
    assert metadata["shop_temperature_celsius"].type == 2
    assert metadata["shop_temperature_celsius"].help == "Oven temperature."
    assert metadata["shop_latency_seconds"].type == 3
    assert "up" not in metadata

    instance = endpoint.address
    stored = receiver.api("series", **{"match[]": '{job="shop"}'})
    stored_sets = {tuple(sorted(s.items())) for s in stored}
    assert stored_sets == set(sent)
    names = {dict(labels)["__name__"] for labels in stored_sets}
    assert {"up", "scrape_duration_seconds", "scrape_samples_scraped", "shop_orders_total"} <= names

    ((_, [(timestamp, _)]), *_) = sent.items()
    result = receiver.api("query", query='{job="shop"}', time=f"{timestamp / 1000:.3f}")["result"]
    values = {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in result}
    assert values == {labels: points[-1][1] for labels, points in sent.items()}
    base = (("instance", instance), ("job", "shop"))
    assert (
        values[
            (
                ("__name__", "shop_orders_total"),
                ("code", "200"),
                *base[:1],
                ("job", "shop"),
                ("method", "GET"),
            )
        ]
        == 1027
    )
    assert values[(("__name__", "up"), *base)] == 1.0
    assert (
        values[(("__name__", "shop_latency_seconds_bucket"), *base[:1], ("job", "shop"), ("le", "+Inf"))] == 7
    )


def sent_key(sent: dict[tuple[tuple[str, str], ...], Any], name: str) -> tuple[tuple[str, str], ...]:
    (key,) = [k for k in sent if dict(k)["__name__"] == name]
    return key


def test_receiver_down_retries_then_fails_clearly(emulated: Any) -> None:
    with serve(Response(EXPOSITION)) as endpoint:
        emulated.put_config(_config(endpoint.address, f"http://{refused_address()}/api/v1/write"))
        summary = emulated.invoke(timeout=5.0)
    sink = _sink(summary)
    assert not summary["ok"] and not sink["ok"]
    assert sink["failed"] == sink["offered"] == 12 and sink["sent"] == 0
    assert "not delivered after" in sink["errors"][0] and "connection refused" in sink["errors"][0]


def test_429_with_retry_after_then_delivered(emulated: Any, receiver: Receiver) -> None:
    with (
        serve(Response(EXPOSITION)) as endpoint,
        capture(Reply(429, b"slow down", {"Retry-After": "1"}), upstream=receiver.write_url) as proxy,
    ):
        emulated.put_config(_config(endpoint.address, proxy.url, "    metadata_config: {send: false}\n"))
        sink = _sink(emulated.invoke())
    assert sink["ok"] and sink["sent"] == 12 and sink["requests"] == 1
    assert len(proxy.requests) == 2 and proxy.requests[0].body == proxy.requests[1].body


def test_400_is_not_retried(emulated: Any) -> None:
    with serve(Response(EXPOSITION)) as endpoint, capture(Reply(400, b"out of order sample")) as proxy:
        emulated.put_config(_config(endpoint.address, proxy.url, "    metadata_config: {send: false}\n"))
        summary = emulated.invoke()
    sink = _sink(summary)
    assert len(proxy.requests) == 1
    assert (sink["rejected"], sink["sent"], sink["failed"]) == (12, 0, 0) and not summary["ok"]
    assert "HTTP 400: out of order sample" in sink["errors"][0]
