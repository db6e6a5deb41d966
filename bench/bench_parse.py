"""Parse benchmark: the project's parser (cold and warm series cache) vs prometheus_client's.

Generates a 100,000-series text 0.0.4 payload (counters, gauges, histograms; 2% of label values
with escapes), then reports, from this one run, samples/s for each parser, the ratios, and the
peak memory of a cold parse (tracemalloc). The project's figures are those of the scrape stage's
series cache reading the body: parse, the target's labels, samples with their refs. Targets
(issue 3): cold >= 15x, warm >= 40x, peak < 200 MB.

    .venv/bin/python bench/bench_parse.py
"""

from __future__ import annotations

import gc
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.labels import finisher
from scrape_push.pipeline import gc_paused
from scrape_push.scrape import SeriesCache
from scrape_push.targets import Target

SERIES = 100_000
SCRAPE_MS = 1_700_000_000_000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")
TARGET = Target(
    job="bench",
    url="http://127.0.0.1:9100/metrics",
    labels=(("instance", "127.0.0.1:9100"), ("job", "bench")),
    external_labels=(("region", "eu-west-1"),),
    timeout=10.0,
    interval=60.0,
    honor_labels=False,
    honor_timestamps=True,
    body_size_limit=100 * 1024 * 1024,
)


def payload(seed: int, series: int = SERIES) -> bytes:
    """Same series for every seed, different values (so warm scrapes see new values)."""
    rng = random.Random(seed)
    out: list[str] = []
    count = family = 0
    while count < series:
        kind = ("counter", "gauge", "histogram")[family % 3]
        name = f"app_{kind}_{family}"
        if kind == "counter":
            out.append(f"# HELP {name}_total Requests handled by the \\\\ service.\n")
            out.append(f"# TYPE {name}_total counter\n")
            for i in range(min(1000, series - count)):
                path = f'/q\\"uote\\\\d\\n{i}' if i % 50 == 0 else f"/api/v{family}/items/{i}"
                labels = f'code="{200 + i % 5}",method="GET",path="{path}",pod="pod-{i % 37}"'
                out.append(f"{name}_total{{{labels}}} {rng.randint(0, 10**9)}\n")
                count += 1
        elif kind == "gauge":
            out.append(f"# HELP {name} Free bytes.\n# TYPE {name} gauge\n")
            for i in range(min(1000, series - count)):
                labels = f'device="sd{family}x{i}",fstype="ext4",mountpoint="/mnt/{family}/{i}"'
                out.append(f"{name}{{{labels}}} {rng.random() * 1e12:.6e}\n")
                count += 1
        else:
            out.append(f"# HELP {name}_seconds Latency.\n# TYPE {name}_seconds histogram\n")
            for i in range(72):
                if count + len(BUCKETS) + 2 > series:
                    break
                base = f'handler="/h/{family}/{i}",method="POST"'
                total = 0
                for le in BUCKETS:
                    total += rng.randint(0, 100)
                    out.append(f'{name}_seconds_bucket{{{base},le="{le}"}} {total}\n')
                out.append(f"{name}_seconds_sum{{{base}}} {rng.random() * 1000:.6g}\n")
                out.append(f"{name}_seconds_count{{{base}}} {total}\n")
                count += len(BUCKETS) + 2
            else:
                family += 1
                continue
            if count + len(BUCKETS) + 2 > series:
                for i in range(series - count):
                    out.append(f'{name}_seconds_extra{{i="{i}"}} 1\n')
                    count += 1
        family += 1
    return "".join(out).encode()


def best(runs: int, parse: Callable[[], int]) -> tuple[float, int]:
    """Fastest of ``runs`` timings (GC collected before each, paused during each as in the
    handler's cycle), and the sample count."""
    timings = []
    count = 0
    for _ in range(runs):
        gc.collect()
        with gc_paused():
            start = time.perf_counter()
            count = parse()
            timings.append(time.perf_counter() - start)
    return min(timings), count


def reference_parse(text: str) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    first, second = payload(1), payload(2)
    print(f"machine: {machine()}")
    print(f"payload: {SERIES} series, {len(first) / 1e6:.1f} MB text 0.0.4")

    ref_seconds, ref_count = best(2, lambda: reference_parse(first.decode()))
    cold_seconds, cold_count = best(
        3, lambda: len(SeriesCache(finisher(TARGET)).samples(first, CONTENT_TYPE, SCRAPE_MS))
    )
    cache = SeriesCache(finisher(TARGET))
    cache.samples(first, CONTENT_TYPE, SCRAPE_MS)
    flip = [second, first]

    def warm() -> int:
        flip.reverse()
        return len(cache.samples(flip[0], CONTENT_TYPE, SCRAPE_MS))

    warm_seconds, warm_count = best(3, warm)
    assert ref_count == cold_count == warm_count == SERIES, (ref_count, cold_count, warm_count)

    gc.collect()
    tracemalloc.start()
    samples = SeriesCache(finisher(TARGET)).samples(first, CONTENT_TYPE, SCRAPE_MS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del samples

    ref_rate, cold_rate, warm_rate = SERIES / ref_seconds, SERIES / cold_seconds, SERIES / warm_seconds
    print(f"prometheus_client text parser: {ref_rate:12,.0f} samples/s  ({ref_seconds * 1000:7.1f} ms)")
    print(f"scrape-push parser, cold:      {cold_rate:12,.0f} samples/s  ({cold_seconds * 1000:7.1f} ms)")
    print(f"scrape-push parser, warm:      {warm_rate:12,.0f} samples/s  ({warm_seconds * 1000:7.1f} ms)")
    print(f"ratio cold / prometheus_client: {cold_rate / ref_rate:5.1f}x  (target >= 15x)")
    print(f"ratio warm / prometheus_client: {warm_rate / ref_rate:5.1f}x  (target >= 40x)")
    print(f"peak memory, cold parse of {SERIES} series (tracemalloc): {peak / 1e6:.1f} MB  (target < 200 MB)")


if __name__ == "__main__":
    main()
