"""CloudWatch translation throughput: samples -> datums -> requests, on 100,000 samples.

    make bench   (or: python bench/bench_cloudwatch.py)

Prints samples/s for the pure translation (group + to_datums + by_namespace; no network):

* plain: gauges sent as they are (the default configuration's path), cold (every series seen
  for the first time) and warm (each series' translation found in the sink's memory, by ref);
* delta + distribution: counters as deltas and histograms as distributions, with the previous
  points given (what the state table returns), warm.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.model import Family, Sample
from scrape_push.pipeline import gc_paused
from scrape_push.sinks.cloudwatch.config import CloudWatchConfig
from scrape_push.sinks.cloudwatch.convert import by_namespace, to_datums
from scrape_push.sinks.cloudwatch.counters import CumulativePoint
from scrape_push.sinks.cloudwatch.series import SeriesBuilder
from scrape_push.sinks.cloudwatch.sink import translators
from scrape_push.sinks.cloudwatch.translate import Grouper

SERIES = 100_000
ROUNDS = 3
GAUGE = Family("metric", "gauge")
COUNTER = Family("requests", "counter")
HISTOGRAM = Family("latency_seconds", "histogram", unit="seconds")
BOUNDS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf")


def labels(i: int) -> tuple[tuple[str, str], ...]:
    return (
        ("code", str(200 + i % 5)),
        ("instance", f"host-{i // 500}:9100"),
        ("job", "node"),
        ("path", f"/api/v{i % 3}/items"),
    )


def plain(now_ms: int) -> list[Sample]:
    return [Sample(f"metric_{i % 500}", labels(i), float(i), now_ms, GAUGE, i) for i in range(SERIES)]


def mixed(now_ms: int, scale: float) -> list[Sample]:
    """Half counters, half histogram samples (12 buckets + sum + count per series)."""
    out = [
        Sample(f"requests_{i % 250}_total", labels(i), float(i) * scale, now_ms, COUNTER, i)
        for i in range(SERIES // 2)
    ]
    per_series = len(BOUNDS) + 2
    for i in range(SERIES // 2 // per_series):
        base = labels(i)
        for n, le in enumerate(BOUNDS):
            le_labels = tuple(sorted((*base, ("le", le))))
            value = (n + 1) * 10.0 * scale
            out.append(Sample("latency_seconds_bucket", le_labels, value, now_ms, HISTOGRAM, len(out)))
        out.append(Sample("latency_seconds_sum", base, 100.0 * scale, now_ms, HISTOGRAM, len(out)))
        count = len(BOUNDS) * 10.0 * scale
        out.append(Sample("latency_seconds_count", base, count, now_ms, HISTOGRAM, len(out)))
    return out


def translate(
    samples: list[Sample],
    config: CloudWatchConfig,
    now_ms: int,
    previous: dict[str, CumulativePoint],
    pair: tuple[Grouper, SeriesBuilder],
) -> int:
    grouper, builder = pair
    builder.new_cycle(len(samples))
    grouped = grouper.group(samples)
    outs = grouped.outs
    if grouped.tracked:
        outs = outs + grouper.resolve(grouped.tracked, previous, config.histogram_sum_count).outs
    datums = to_datums(outs, builder, now_ms).datums
    return sum(len(batches) for _, batches in by_namespace(datums))


def measure(
    samples: list[Sample],
    config: CloudWatchConfig,
    now_ms: int,
    previous: dict[str, CumulativePoint] | None = None,
    cold: bool = False,
) -> tuple[float, int]:
    """Best CPU time of ``ROUNDS`` runs, with the collector paused as the handler's cycle does."""
    best = float("inf")
    requests = 0
    pair = translators(config)
    if not cold:  # the first cycle of a warm sink fills what it remembers per series
        translate(samples, config, now_ms, previous or {}, pair)
    for _ in range(ROUNDS):
        if cold:  # a new container: a new sink, which remembers nothing yet
            pair = translators(config)
        with gc_paused():
            start = time.process_time()
            requests = translate(samples, config, now_ms, previous or {}, pair)
            best = min(best, time.process_time() - start)
    return best, requests


def main() -> None:
    now_ms = int(time.time() * 1000)
    samples = plain(now_ms)
    config = CloudWatchConfig("Bench", dimensions=("job", "instance", "code", "path"))
    cold, requests = measure(samples, config, now_ms, cold=True)
    warm, _ = measure(samples, config, now_ms)
    print(f"cloudwatch translate: {SERIES} samples -> {requests} requests, best of {ROUNDS} (CPU time)")
    print(f"  plain, cold (a new sink):       {cold:.3f} s  {SERIES / cold:>10,.0f} samples/s")
    print(f"  plain, warm (sink memory):      {warm:.3f} s  {SERIES / warm:>10,.0f} samples/s")

    stateful = CloudWatchConfig(
        "Bench", dimensions=config.dimensions, counter_mode="delta", histograms="distribution"
    )
    before = mixed(now_ms - 60_000, 1.0)
    grouper, _ = translators(stateful)
    previous = {t.state_id: t.point for t in grouper.group(before).tracked}
    current = mixed(now_ms, 2.0)
    mixed_time, mixed_requests = measure(current, stateful, now_ms, previous)
    print(
        f"  delta + distribution, warm:     {mixed_time:.3f} s  {len(current) / mixed_time:>10,.0f} samples/s"
        f"  ({len(current)} samples -> {mixed_requests} requests)"
    )


if __name__ == "__main__":
    main()
