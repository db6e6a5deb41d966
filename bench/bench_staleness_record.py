"""Staleness record benchmark: the size of a job group's record and the CPU to make it.

Builds 1,000 targets x 1,000 series: node_exporter's own exposition (tests/fixtures) read
through each target's series cache with its target labels, padded to 1,000 series with a label
of its own. Reports the record's raw and compressed size, how many targets fit in one DynamoDB
item (``MAX_RECORD_BYTES``), one target's record alone, and the time to encode and compress.

    .venv/bin/python bench/bench_staleness_record.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))

from scrape_push.labels import finisher
from scrape_push.scrape import SeriesCache
from scrape_push.scrape.record import MAX_RECORD_BYTES, encode_target, pack, target_key
from scrape_push.targets import Target

TARGETS = 1000
SERIES = 1000
FIXTURE = ROOT / "tests" / "fixtures" / "exposition" / "node_exporter.text.txt"


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


if __name__ == "__main__":
    main()
