"""Native histograms in Graphite (issue 16): each is sent as ``<name>_count`` and ``<name>_sum``
in one write, counted once; never split between batches."""

from __future__ import annotations

import math
import pickle
import struct
from dataclasses import replace

import pytest
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, NativeHistogram, Sample

from tests.unit.sinks.graphite.test_sink import NOW_MS, SAMPLES, sink_for
from tests.unit.sinks.graphite.test_transport import Connector, FakeSocket

VALUE = NativeHistogram(count=12, sum=3.5, schema=3, positive_spans=((0, 1),), positive=(12,))


def _histogram(i: int, value: NativeHistogram = VALUE) -> Sample:
    return Sample(
        "lat", (("i", str(i)),), math.nan, NOW_MS, Family("lat", "histogram"), 100 + i, histogram=value
    )


def test_a_native_histogram_is_sent_as_count_and_sum_and_counted_once() -> None:
    sock = FakeSocket()
    sink = sink_for("{address: 'carbon:2003', template: '{__name__}'}", Connector([sock]))
    offered = [*SAMPLES[:2], _histogram(1), _histogram(2, replace(VALUE, sum=math.nan))]
    report = DirectDelivery(sink).push(offered, Deadline.after(30))
    lines = b"".join(sock.written).decode().splitlines()
    assert lines[-2:] == ["lat_count.i.1 12 1700000000", "lat_sum.i.1 3.5 1700000000"]
    assert (report.offered, report.sent, dict(report.dropped)) == (4, 3, {"nan_or_inf": 1})


@pytest.mark.parametrize("protocol", ["plaintext", "pickle"])
def test_a_histogram_s_two_points_are_never_split_between_writes(protocol: str) -> None:
    sock = FakeSocket()
    sink = sink_for(f"{{address: carbon, protocol: {protocol}, batch_size: 3}}", Connector([sock]))
    report = DirectDelivery(sink).push([_histogram(i) for i in range(5)], Deadline.after(30))
    assert (report.sent, report.requests) == (5, 5)  # batch_size 3: one pair a write
    for write in sock.written:
        if protocol == "pickle":
            (size,) = struct.unpack("!L", write[:4])
            names = [name for name, _ in pickle.loads(write[4 : 4 + size])]
        else:
            names = [line.split()[0] for line in write.decode().splitlines()]
        assert [name.split(".")[0] for name in names] == ["lat_count", "lat_sum"]


def test_udp_packs_whole_pairs_into_datagrams() -> None:
    sock = FakeSocket()
    report = DirectDelivery(sink_for("{address: 'carbon:2003', protocol: udp}", sock=sock)).push(
        [_histogram(i) for i in range(60)], Deadline.after(30)
    )
    assert report.sent == 60 and len(sock.written) > 1
    assert all(datagram.count(b"\n") % 2 == 0 and len(datagram) <= 1452 for datagram in sock.written)
