"""CloudWatch translation throughput: samples -> datums -> requests, on 100,000 samples.

    make bench   (or: python bench/bench_cloudwatch.py)

Prints samples/s for ``to_datums`` + ``partition`` (pure translation, no network), cold (every
series seen for the first time) and warm (each series' translation found in its series cache).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.cycle import gc_paused
from scrape_push.model import Sample
from scrape_push.sinks.cloudwatch.convert import DatumRules, partition, to_datums

SERIES = 100_000
ROUNDS = 3


def payload(now_ms: int) -> list[Sample]:
    return [
        Sample(
            f"metric_{i % 500}",
            (
                ("code", str(200 + i % 5)),
                ("instance", f"host-{i // 500}:9100"),
                ("job", "node"),
                ("path", f"/api/v{i % 3}/items"),
            ),
            float(i),
            now_ms,
        )
        for i in range(SERIES)
    ]


def measure(samples: list[Sample], rules: DatumRules, now_ms: int) -> tuple[float, int]:
    """Best CPU time of ``ROUNDS`` runs, with the collector paused as the handler's cycle does."""
    best = float("inf")
    requests = 0
    for _ in range(ROUNDS):
        with gc_paused():
            start = time.process_time()
            requests = len(partition(to_datums(samples, rules, now_ms).datums, "Bench"))
            best = min(best, time.process_time() - start)
    return best, requests


def main() -> None:
    now_ms = int(time.time() * 1000)
    samples = payload(now_ms)
    rules = DatumRules(("job", "instance", "code", "path"))
    cold, requests = measure(samples, rules, now_ms)
    for sample in samples:
        sample.cache = {}
    to_datums(samples, rules, now_ms)  # fills each series' cache entry, as a first warm scrape would
    warm, _ = measure(samples, rules, now_ms)
    print(f"cloudwatch translate: {SERIES} samples -> {requests} requests, best of {ROUNDS} (CPU time)")
    print(f"  cold (no series cache):  {cold:.3f} s  {SERIES / cold:>10,.0f} samples/s")
    print(f"  warm (series cache):     {warm:.3f} s  {SERIES / warm:>10,.0f} samples/s")


if __name__ == "__main__":
    main()
