"""Remote Write throughput and CPU cost, on a 100,000-series payload.

    make bench   (or: python bench/bench_remote_write.py)

Prints, as CPU time (best of a few runs):

* the parse stage's cold path on the payload's exposition text (the target to beat);
* encode + snappy-compress of the samples into WriteRequests of 2,000 samples: this sink's
  wire-format writer cold (labels encoded) and warm (labels found in the sink's memory, by
  series ref), and the same requests built with the protobuf library's generated classes, for
  comparison.

``--stages`` adds the sink's stages alone (grouping into series, WriteRequest encoding, snappy),
CPU per sample, cold and warm, on a cycle of 500 node_exporter-shaped targets of 1,000 series and
on one target of 100,000.

With the wire kernel built (``make native``, docs/native.md) the sink's loops over samples and
new series run in C; ``SCRAPE_PUSH_NATIVE=off`` times the pure-Python path. The first line says
which ran.

End to end (the real handler against the Prometheus agent and vmagent): bench/bench_e2e.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from itertools import count
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from scrape_push import native
from scrape_push.labels import finisher
from scrape_push.model import Sample, SeriesRef
from scrape_push.pipeline import gc_paused
from scrape_push.scrape import SeriesCache
from scrape_push.scrape.entries import CommonValues
from scrape_push.sinks.remote_write.convert import Encoding, batches, encode_batch, to_series
from scrape_push.sinks.remote_write.encode import LabelEncoder, SampleEncoder, compress
from scrape_push.targets import Target

from devtools import target_fleet

SERIES = 100_000
FAMILIES = 500
ROUNDS = 3
MAX_SAMPLES_PER_SEND = 2000
"""The handler's default request size (and Prometheus's since 2.44)."""


def exposition() -> bytes:
    """100,000 series in 500 gauge families, labelled like a busy service."""
    lines: list[str] = []
    per_family = SERIES // FAMILIES
    for f in range(FAMILIES):
        name = f"bench_metric_{f}"
        lines.append(f"# HELP {name} Benchmark family {f}.")
        lines.append(f"# TYPE {name} gauge")
        for i in range(per_family):
            lines.append(
                f'{name}{{code="{200 + i % 5}",host="host-{i // 5}",path="/api/v{i % 3}/items"}} {f * i}.5'
            )
    return ("\n".join(lines) + "\n").encode()


def best(run: object, rounds: int = ROUNDS) -> float:
    """Best CPU time of ``rounds`` runs, with the cyclic GC paused as in the handler's cycle."""
    fastest = float("inf")
    for _ in range(rounds):
        with gc_paused():
            start = time.process_time()
            run()  # type: ignore[operator]
            fastest = min(fastest, time.process_time() - start)
    return fastest


class Memory:
    """What a Remote Write sink keeps between cycles: its label encoder, its series' encodings."""

    def __init__(self) -> None:
        self.encoder = LabelEncoder()
        self.known: dict[SeriesRef, Encoding] = {}

    def encodings(self, samples: Sequence[Sample]) -> list[Encoding]:
        return self.encoder.heads([s.name for s in samples], [s.labels for s in samples])


def encode_all(samples: list[Sample], memory: Memory) -> int:
    converted = to_series(samples, memory.known, memory.encodings)
    encoder = SampleEncoder()
    size = 0
    for chain in batches(converted, MAX_SAMPLES_PER_SEND):
        for batch in chain:
            size += len(compress(encode_batch(batch, encoder)))
    return size


def encode_all_protobuf(samples: list[Sample], now_ms: int) -> int:
    """The same requests built as protobuf messages (grouping by series included)."""
    from devtools.remote_write_proto import remote_pb2

    size = 0
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.name, sample.labels), []).append(sample)
    series = list(groups.items())
    for start in range(0, len(series), MAX_SAMPLES_PER_SEND):
        request = remote_pb2.WriteRequest()
        for (name, labels), members in series[start : start + MAX_SAMPLES_PER_SEND]:
            ts = request.timeseries.add()
            for key, value in sorted((("__name__", name), *labels)):
                ts.labels.add(name=key, value=value)
            for member in members:
                ts.samples.add(value=member.value, timestamp=member.timestamp_ms or now_ms)
        size += len(compress(request.SerializeToString()))
    return size


def codec_figures(text: bytes) -> None:
    now_ms = int(time.time() * 1000)
    parse = best(lambda: SeriesCache().samples(text, None, now_ms))
    samples = SeriesCache().samples(text, None, now_ms)
    cold = best(lambda: encode_all(samples, Memory()))  # a new sink: nothing encoded before
    reference = best(lambda: encode_all_protobuf(samples, now_ms))
    memory = Memory()
    encode_all(samples, memory)  # the first scrape fills the sink's memory
    warm = best(lambda: encode_all(samples, memory))
    n = len(samples)
    print(
        f"remote_write codec: {n} series, {MAX_SAMPLES_PER_SEND} samples a request (CPU, best of {ROUNDS};"
        f" wire kernel: {native.STATUS.get('wire', 'absent')})"
    )
    print(f"  parse stage, cold (target to beat):  {parse:.3f} s {n / parse:>12,.0f} samples/s")
    print(f"  encode+compress, cold:               {cold:.3f} s {n / cold:>12,.0f} samples/s")
    print(f"  encode+compress, warm (sink memory): {warm:.3f} s {n / warm:>12,.0f} samples/s")
    print(f"  protobuf library messages, cold:     {reference:.3f} s {n / reference:>12,.0f} samples/s")


def scraped(targets: int, series: int) -> Callable[[int], list[Sample]]:
    """The samples of a cycle of ``targets`` node_exporter-shaped targets of ``series`` series
    (``devtools.target_fleet``'s bodies), as the scrape stage hands them to the sink: each
    target's labels, the external label, the series caches sharing their values, each target
    scraped at another millisecond."""
    common = CommonValues()
    refs = count()
    caches = []
    for index in range(targets):
        labels = (("instance", f"127.0.0.1:{10_000 + index}"), ("job", f"job-{index % 5}"))
        target = Target(
            job=labels[1][1],
            url=f"http://{labels[0][1]}/metrics",
            labels=labels,
            external_labels=(("sender", "handler"),),
            timeout=10.0,
            interval=60.0,
            honor_labels=False,
            honor_timestamps=True,
            body_size_limit=0,
        )
        caches.append(SeriesCache(finisher(target), refs=refs, common=common))
    bodies = [target_fleet.exposition(series, variant) for variant in range(2)]
    start_ms = int(time.time() * 1000)

    def cycle(number: int) -> list[Sample]:
        body = bodies[number % 2]
        stamp = start_ms + number * 60_000
        return [
            s for offset, cache in enumerate(caches) for s in cache.samples(body, None, stamp + offset * 7)
        ]

    return cycle


def stage_figures(targets: int, series: int) -> None:
    """The sink's stages, CPU per sample, cold (a new sink) and warm, on a cycle of a fleet: what
    bench/profile_handler.py's rows "grouping into series", "WriteRequest encoding" and "snappy"
    time in the handler (here encoding includes batching), in one thread and alone."""
    cycle = scraped(targets, series)
    memory = Memory()
    rows: dict[str, list[float]] = {}
    for number in range(ROUNDS + 1):
        samples = cycle(number)
        with gc_paused():
            start = time.process_time()
            converted = to_series(samples, memory.known, memory.encodings)
            grouped = time.process_time()
            encoder = SampleEncoder()
            bodies = [
                encode_batch(batch, encoder)
                for chain in batches(converted, MAX_SAMPLES_PER_SEND)
                for batch in chain
            ]
            encoded = time.process_time()
            for body in bodies:
                compress(body)
            done = time.process_time()
        when = "cold" if number == 0 else "warm"
        for name, took in (
            ("grouping", grouped - start),
            ("encoding", encoded - grouped),
            ("snappy", done - encoded),
        ):
            rows.setdefault(f"{name}, {when}", []).append(took * 1e6 / len(samples))
        del samples, converted, bodies
    print(f"remote_write stages: {targets} x {series:,} series (CPU per sample; warm: best of {ROUNDS})")
    for name, figures in rows.items():
        print(f"  {name:16s} {min(figures):6.3f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also the sink's stages on 500 targets x 1,000 series and on 1 target x 100,000 (a minute)",
    )
    codec_figures(exposition())
    if parser.parse_args().stages:
        stage_figures(500, 1000)
        stage_figures(1, 100_000)


if __name__ == "__main__":
    main()
