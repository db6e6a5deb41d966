"""A native histogram that vanishes from a protobuf endpoint, against the real Prometheus 2.42
with native histograms: the Prometheus scraping the endpoint itself and the one scrape-push
remote-writes into both answer nothing for it at once, as the histogram marker says (without it
the second would keep answering for the 5-minute lookback). The receiver takes the histogram
marker (``Histogram{Sum: StaleNaN}``) as its own head writes it; its bits on the wire are
checked in tests/unit/sinks/test_staleness.py (2.42's head would also turn a float stale NaN on
a histogram series into a histogram marker, so this test alone does not tell the two apart)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from devtools import processes
from tests.integration.prometheus_proto.conftest import scraper
from tests.integration.prometheus_proto.test_against_prometheus import NATIVE, _config
from tests.integration.remote_write.conftest import Receiver
from tests.support.http import Response, serve
from tests.support.integration import started
from tests.support.protobuf import CONTENT_TYPE, GAUGE, delimited, family, metric

pytestmark = pytest.mark.integration

GAUGE_ONLY = delimited(family("shop_open", GAUGE, [metric(gauge=1.0)]))
QUERY = 'shop_native_seconds{job="proto"}'
SEEN_SECONDS = 30.0


def answer(server: Receiver, query: str, at: float) -> dict[tuple[tuple[str, str], ...], object]:
    """An instant query's series at ``at``: a float, or a native histogram as the API gives it."""
    result = server.api("query", query=query, time=f"{at:.3f}")["result"]
    return {
        tuple(sorted(r["metric"].items())): r["value"][1] if "value" in r else r["histogram"][1]
        for r in result
    }


def test_a_vanished_native_histogram_ends_at_once_in_both(
    emulated: Any, native_receiver: Receiver, tmp_path: Path
) -> None:
    body = [Response(GAUGE_ONLY + NATIVE, content_type=CONTENT_TYPE)]
    with serve(lambda _path: body[0]) as endpoint:
        extra = "    scrape_native_histograms: true\n"
        sink = "    send_native_histograms: true\n"
        emulated.put_config(_config(endpoint.address, native_receiver.write_url, extra, sink))
        with started(scraper(tmp_path / "scraper", endpoint.address)) as direct:
            processes.wait_until(lambda: len(answer(direct, QUERY, time.time())) == 3, SEEN_SECONDS)
            first = emulated.invoke()
            assert first["sinks"][0]["ok"] and first["stale_markers"] == 0, first["sinks"]
            assert len(answer(native_receiver, QUERY, time.time())) == 3

            body[0] = Response(GAUGE_ONLY, content_type=CONTENT_TYPE)
            processes.wait_until(lambda: answer(direct, QUERY, time.time()) == {}, SEEN_SECONDS)
            summary = emulated.invoke()
            (report,) = summary["sinks"]
            assert summary["stale_markers"] == 3, summary["targets"]
            assert report["ok"] and report["sent"] == report["offered"] and not report["dropped"], report
            now = time.time()
            assert answer(direct, QUERY, now) == answer(native_receiver, QUERY, now) == {}
            gauge = 'shop_open{job="proto"}'
            assert answer(direct, gauge, now).keys() == answer(native_receiver, gauge, now).keys() != set()
