"""What an outage costs in CPU: keeping a cycle in the backlog and replaying it, per sink kind.

    make bench   (or: python bench/bench_backlog.py)

For a 100,000-sample cycle, per kind (no network, no S3: the item's bytes are what a PutObject
would carry and a GetObject return):

* spill: the requests' bodies as they would be sent (Remote Write: protobuf + snappy;
  CloudWatch: PutMetricData as JSON; Graphite: plaintext lines) and the backlog item around them;
* replay: reading the item back and rebuilding the requests the kind sends (CloudWatch: the
  JSON parsed back into PutMetricData parameters).

Figures are samples/s of CPU time, best of 3, with the cyclic GC paused as in a cycle.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.backlog.spool import Item, dump, entries_of, load
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.model import Family, Sample
from scrape_push.pipeline import gc_paused
from scrape_push.runtime import RUNTIME
from scrape_push.sinks import build_sinks
from scrape_push.sinks.base import Request, Sink, SinkReport
from scrape_push.sinks.cloudwatch.transport import decode_request

SERIES = 100_000
ROUNDS = 3
GAUGE = Family("metric", "gauge")
CONFIG = """
remote_write: [{url: "http://127.0.0.1:9/api/v1/write", metadata_config: {send: false}}]
cloudwatch: [{namespace: Bench, dimensions: [job, instance, code, path]}]
graphite: [{address: "127.0.0.1:2003"}]
"""


def samples(now_ms: int) -> list[Sample]:
    return [
        Sample(
            f"metric_{i % 500}",
            (
                ("code", str(200 + i % 5)),
                ("instance", f"host-{i // 500}:9100"),
                ("job", "node"),
                ("path", f"/v{i % 3}"),
            ),
            float(i),
            now_ms,
            GAUGE,
            i,
        )
        for i in range(SERIES)
    ]


def best(run: Callable[[], object]) -> float:
    timings = []
    for _ in range(ROUNDS):
        start = time.process_time()
        with gc_paused():
            run()
        timings.append(time.process_time() - start)
    return min(timings)


def spill(kind: Sink, requests: Sequence[Request], now_ms: int) -> bytes:
    return dump(Item(kind.name, kind.kind, now_ms, now_ms, "failed", entries_of(requests)))


def replay(kind: Sink, blob: bytes) -> list[Request]:
    requests = [kind.load(e.body, e.samples, e.chain) for e in load(blob).entries]
    if kind.kind == "cloudwatch":
        for request in requests:
            decode_request(request.body())
    return requests


def main() -> None:
    now_ms = int(time.time() * 1000)
    batch = samples(now_ms)
    print(f"backlog: one {SERIES:,}-sample cycle kept and replayed, per sink kind (CPU, best of {ROUNDS})")
    columns = f"{'item':>8} {'requests':>9} {'translate':>10} {'+ keep':>10} {'replay read':>12}"
    print(f"  {'kind':<13} {columns}  (us/sample)")
    loaded = parse_config(CONFIG)
    for kind, _ in build_sinks(loaded.config, RUNTIME.context(loaded)):

        def prepare(k: Sink = kind) -> list[Request]:
            report = SinkReport(k.name, k.kind)
            return k.prepare(batch, report).resolve(Deadline.after(60.0), report)

        blob = spill(kind, prepare(), now_ms)
        translate = best(prepare)
        keep = best(lambda k=kind, p=prepare: spill(k, p(), now_ms)) - translate
        read = best(lambda k=kind, b=blob: replay(k, b))
        per = 1e6 / SERIES
        print(
            f"  {kind.kind:<13} {len(blob) / 1e6:6.1f}MB {len(prepare()):>9}"
            f" {translate * per:>10.2f} {max(keep, 0.0) * per:>10.2f} {read * per:>12.3f}"
        )


if __name__ == "__main__":
    main()
