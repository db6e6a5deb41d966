"""OTLP sink throughput: translation, packing, encoding and gzip of a 100,000-series payload.

    make bench   (or: python bench/bench_otlp.py)

Prints CPU time (best of a few runs, GC paused as in the handler's cycle) per stage, cold (the
sink's first sight of every series) and warm (the series map filled), for 100,000 gauge series
in 500 families and for 100,000 counters whose start times come from the state step's memory;
the same requests built with the opentelemetry-proto library's classes, for comparison; and
10,000 native histograms (schema 3, 24 buckets in two spans a side) as exponential histograms.
Nothing is sent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from scrape_push.deadline import Deadline
from scrape_push.labels import merge_labels
from scrape_push.model import Family, NativeHistogram, Sample
from scrape_push.pipeline import gc_paused
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.otlp.pack import pack
from scrape_push.sinks.otlp.starts import StartStore, StartTimes
from scrape_push.sinks.otlp.translate import Translator
from scrape_push.statetable import Items

SERIES = 100_000
FAMILIES = 500
ROUNDS = 3
NOW_MS = 1_700_000_000_000


def exposition(kind: str) -> bytes:
    lines: list[str] = []
    per_family = SERIES // FAMILIES
    for f in range(FAMILIES):
        name = f"bench_metric_{f}" + ("_total" if kind == "counter" else "")
        lines.append(f"# HELP {name} Benchmark family {f}.")
        lines.append(f"# TYPE {name} {kind}")
        for i in range(per_family):
            lines.append(
                f'{name}{{code="{200 + i % 5}",host="host-{i // 5}",path="/api/v{i % 3}/items"}} {f * i}.5'
            )
    return ("\n".join(lines) + "\n").encode()


def samples_of(body: bytes) -> list[Sample]:
    target = (("instance", "10.0.0.1:9100"), ("job", "bench"))
    return [
        s._replace(labels=merge_labels(s.labels, target, False), timestamp_ms=NOW_MS)
        for s in SeriesCache().samples(body, "text/plain; version=0.0.4", NOW_MS)
    ]


HISTOGRAMS = 10_000


def native_samples() -> list[Sample]:
    """Native histograms as the protobuf parser hands them over: 12 buckets, a gap, 12 more."""
    counts = tuple(range(1, 13))
    family = Family("bench_latency_seconds", "histogram", "Latency.", "seconds")
    value = NativeHistogram(
        count=2 * sum(counts) + 3,
        sum=12.5,
        schema=3,
        zero_threshold=1e-9,
        zero_count=3,
        positive_spans=((-6, 6), (4, 6)),
        positive=counts,
        negative_spans=((2, 12),),
        negative=counts,
    )
    return [
        Sample(
            family.name,
            (("instance", "10.0.0.1:9100"), ("job", "bench"), ("route", f"/r{i}")),
            float("nan"),
            NOW_MS,
            family,
            i,
            histogram=value,
        )
        for i in range(HISTOGRAMS)
    ]


def best(run: Callable[[], object], rounds: int = ROUNDS) -> float:
    fastest = float("inf")
    for _ in range(rounds):
        with gc_paused():
            start = time.process_time()
            run()
            fastest = min(fastest, time.process_time() - start)
    return fastest


class Table:
    """A state table that holds nothing and takes every write (only the first cycle calls it)."""

    def __call__(self, _deadline: object) -> Table:
        return self

    def batch_get_item(self, **_: object) -> dict[str, object]:
        return {}

    def put_item(self, **_: object) -> None:
        pass


class Sink:
    """The sink's translation, state step (start times from memory once warm) and packing."""

    def __init__(self) -> None:
        self.translator = Translator(None)
        self.starts = StartTimes("otlp/bench", StartStore(Items(Table(), "state")), lambda: NOW_MS / 1000)

    def cycle(self, samples: list[Sample], *, gzip: bool) -> int:
        translation = self.translator.translate(samples, NOW_MS)
        self.starts.settle(translation.unstarted(), Deadline.after(60), SinkReport("otlp/bench", "otlp"))
        batches, _ = pack(translation.points, 1000, 1_000_000)
        return sum(len(b.body("gzip" if gzip else "none")) for b in batches)


def with_library(samples: list[Sample]) -> int:
    """The same points as opentelemetry-proto messages, 1,000 a request (gauges only)."""
    size = 0
    for start in range(0, len(samples), 1000):
        request = metrics_service_pb2.ExportMetricsServiceRequest()
        resource = request.resource_metrics.add()
        for key, value in (("service.name", "bench"), ("service.instance.id", "10.0.0.1:9100")):
            resource.resource.attributes.add(key=key, value=common_pb2.AnyValue(string_value=value))
        scope = resource.scope_metrics.add()
        metric = None
        for sample in samples[start : start + 1000]:
            if metric is None or metric.name != sample.name:
                metric = scope.metrics.add(name=sample.name, description=sample.family.help)
            point = metric.gauge.data_points.add(
                time_unix_nano=sample.timestamp_ms * 1_000_000, as_double=sample.value
            )
            for key, value in sample.labels:
                if key not in ("job", "instance"):
                    point.attributes.add(key=key, value=common_pb2.AnyValue(string_value=value))
        size += len(request.SerializeToString())
    return size


def main() -> None:
    for kind in ("gauge", "counter"):
        samples = samples_of(exposition(kind))
        cold = best(lambda samples=samples: Sink().cycle(samples, gzip=False))
        sink = Sink()
        sink.cycle(samples, gzip=False)
        warm = best(lambda sink=sink, samples=samples: sink.cycle(samples, gzip=False))
        zipped = best(lambda sink=sink, samples=samples: sink.cycle(samples, gzip=True))
        rates = f"cold {SERIES / cold:,.0f} / warm {SERIES / warm:,.0f} samples/s"
        print(f"{kind}s: translate, start times, pack, encode: {rates}")
        print(f"{kind}s: warm, with gzip (level 6): {SERIES / zipped:,.0f} samples/s")
        if kind == "gauge":
            library = best(lambda samples=samples: with_library(samples))
            print(f"gauges: the same requests as opentelemetry-proto messages: {SERIES / library:,.0f}/s")
        raw, compressed = sink.cycle(samples, gzip=False), sink.cycle(samples, gzip=True)
        print(f"{kind}s: {raw / SERIES:.1f} bytes per point uncompressed, {compressed / SERIES:.1f} gzip")
    natives = native_samples()
    cold = best(lambda: Sink().cycle(natives, gzip=False))
    sink = Sink()
    sink.cycle(natives, gzip=False)
    warm = best(lambda: sink.cycle(natives, gzip=False))
    rates = f"cold {HISTOGRAMS / cold:,.0f} / warm {HISTOGRAMS / warm:,.0f} histograms/s"
    print(f"native histograms as exponential histograms: {rates}")
    raw = sink.cycle(natives, gzip=False)
    print(f"native histograms: {raw / HISTOGRAMS:.1f} bytes per point uncompressed")


if __name__ == "__main__":
    main()
