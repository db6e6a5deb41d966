"""Staleness record benchmark: the size of a job group's record and the CPU to make it.

Builds 1,000 targets x 1,000 series: node_exporter's own exposition (tests/fixtures) read
through each target's series cache with its target labels, padded to 1,000 series with a label
of its own. Reports the record's raw and compressed size, how many targets fit in one DynamoDB
item (``MAX_RECORD_BYTES``), one target's record alone, and the time to encode and compress.
Then the same for targets exposing native histograms over protobuf (``HISTOGRAMS`` of their
1,000 series), beside the same lines without the histogram indexes (the record as it was
before it said which series are histograms).

    .venv/bin/python bench/bench_staleness_record.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from scrape_push.labels import finisher
from scrape_push.parse import Histograms
from scrape_push.scrape import SeriesCache
from scrape_push.scrape.record import MAX_RECORD_BYTES, encode_target, pack, target_key
from scrape_push.targets import Target

from tests.support import protobuf as pb

TARGETS = 1000
SERIES = 1000
FIXTURE = ROOT / "tests" / "fixtures" / "exposition" / "node_exporter.text.txt"
HISTOGRAMS = 100
"""Native histograms among a protobuf target's series (the rest gauges)."""


def body() -> bytes:
    """node_exporter's exposition padded to ``SERIES`` sample lines."""
    lines = [line for line in FIXTURE.read_bytes().splitlines() if line and not line.startswith(b"#")]
    extra = [b'node_bench_padding{slot="%d"} 1' % i for i in range(SERIES - len(lines))]
    return b"\n".join(lines[:SERIES] + extra) + b"\n"


def target(index: int) -> Target:
    address = f"10.0.{index // 250}.{index % 250}:9100"
    return Target(
        job="node",
        url=f"http://{address}/metrics",
        labels=(("instance", address), ("job", "node")),
        external_labels=(("cluster", "prod-eu-west-1"),),
        timeout=10.0,
        interval=60.0,
        honor_labels=False,
        honor_timestamps=True,
        body_size_limit=64 << 20,
    )


def main() -> None:
    data = body()
    lines = []
    encoded = 0.0
    for index in range(TARGETS):
        each = target(index)
        cache = SeriesCache(finisher(each))
        cache.samples(data, "text/plain; version=0.0.4", 1000)
        start = time.perf_counter()
        lines.append(encode_target(target_key(each), cache.tracker.series()))
        encoded += time.perf_counter() - start
    start = time.perf_counter()
    whole, raw_bytes, _ = pack(lines, 1 << 40)
    packed = time.perf_counter() - start
    _, _, fitting = pack(lines, MAX_RECORD_BYTES)
    one, one_raw, _ = pack(lines[:1], 1 << 40)
    print(f"{TARGETS} targets x {SERIES} series (node_exporter labels)")
    print(f"  raw JSON lines:         {raw_bytes / 1e6:8.1f} MB")
    per_series = len(whole) / (TARGETS * SERIES)
    print(f"  zstd:                   {len(whole) / 1e3:8.1f} KB  ({per_series:.2f} B a series)")
    print(f"  targets in one item:    {fitting:8d}  (item limit {MAX_RECORD_BYTES / 1e3:.0f} KB)")
    print(f"  one target alone:       {len(one) / 1e3:8.1f} KB  (raw {one_raw / 1e3:.1f} KB)")
    print(f"  encode, all targets:    {encoded:8.2f} s   compress, all: {packed:.2f} s")


def histogram_body() -> bytes:
    """``HISTOGRAMS`` native histograms (integer counts) and gauges, ``SERIES`` series in all."""
    native = pb.histogram(9, 4.5, native=pb.native_part(3, 1e-128, 1, positive=[(0, [2, 3, 3])]))
    histograms = pb.family(
        "rpc_seconds",
        pb.HISTOGRAM,
        [pb.metric({"method": f"m{i}"}, histogram=native) for i in range(HISTOGRAMS)],
    )
    gauges = pb.family(
        "node_bench_gauge",
        pb.GAUGE,
        [pb.metric({"slot": str(i)}, gauge=1.0) for i in range(SERIES - HISTOGRAMS)],
    )
    return pb.delimited(histograms, gauges)


def histogram_figures() -> None:
    data = histogram_body()
    now, before = [], []
    for index in range(TARGETS):
        each = target(index)
        cache = SeriesCache(finisher(each))
        for _ in cache.read(data, pb.CONTENT_TYPE, 1000, histograms=Histograms(native=True)):
            pass
        series = cache.tracker.series()
        now.append(encode_target(target_key(each), series))
        before.append(encode_target(target_key(each), [(found, None) for found, _ in series]))
    (with_kinds, raw, _), (without, raw_before, _) = pack(now, 1 << 40), pack(before, 1 << 40)
    total = TARGETS * SERIES
    print(f"{TARGETS} targets x {SERIES} series, {HISTOGRAMS} of them native histograms (protobuf)")
    for what, packed in (("histograms said", with_kinds), ("as before", without)):
        print(f"  zstd, {what + ':':17} {len(packed) / 1e3:8.1f} KB  ({len(packed) / total:.3f} B a series)")
    print(f"  raw, said / before:     {raw / total:8.1f} / {raw_before / total:.1f} B a series")


if __name__ == "__main__":
    main()
    histogram_figures()
