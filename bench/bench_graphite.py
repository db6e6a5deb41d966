"""How fast the Graphite sink names and encodes samples (cold: a new sink; warm: names remembered).

.venv/bin/python bench/bench_graphite.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.model import Family, Sample
from scrape_push.sinks.graphite.convert import (
    Named,
    NameRules,
    parse_template,
    pickle_batches,
    plaintext_batches,
    to_points,
)

SERIES = 20_000
NOW_MS = 1_700_000_000_000


def samples() -> list[Sample]:
    return [
        Sample(
            "http_request_duration_seconds_bucket",
            (
                ("code", str(200 + i % 5)),
                ("instance", f"10.0.{i // 250}.{i % 250}:9100"),
                ("job", "api"),
                ("le", ("0.005", "0.1", "1", "+Inf")[i % 4]),
            ),
            float(i),
            NOW_MS,
            Family("http_request_duration_seconds", "histogram"),
            i,
        )
        for i in range(SERIES)
    ]


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rules = {
        "path": NameRules("path", "prom", parse_template("{job}.{instance}.{__name__}")),
        "tags": NameRules("tags", "prom", parse_template("{__name__}")),
    }
    batch = samples()
    for mode, rule in rules.items():
        cold = best_of(3, lambda rule=rule: to_points(batch, rule, {}))
        names: dict[int, Named] = {}
        to_points(batch, rule, names)
        warm = best_of(3, partial(to_points, batch, rule, names))
        points = to_points(batch, rule, names).points
        lines = best_of(3, partial(plaintext_batches, points, 1000))
        frames = best_of(3, partial(pickle_batches, points, 1000))
        size = sum(len(b.payload) for b in pickle_batches(points, 1000)) / SERIES
        print(
            f"{mode:5} {SERIES} series: name cold {SERIES / cold:,.0f}/s, warm {SERIES / warm:,.0f}/s; "
            f"plaintext {SERIES / lines:,.0f}/s; pickle {SERIES / frames:,.0f}/s ({size:.0f} B/point)"
        )


if __name__ == "__main__":
    main()
