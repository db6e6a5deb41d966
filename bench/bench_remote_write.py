"""Remote Write throughput and CPU cost, on a 100,000-series payload.

    make bench   (or: python bench/bench_remote_write.py)

Prints, as CPU time (best of a few runs):

* the parse stage's cold path on the payload's exposition text (the target to beat);
* encode + snappy-compress of the samples into WriteRequests of 500 samples: this sink's
  wire-format writer cold (labels encoded) and warm (labels found in the sink's memory, by
  series ref), and the same requests built with the protobuf library's generated classes, for
  comparison.

End to end (the real handler against the Prometheus agent and vmagent): bench/bench_e2e.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from scrape_push.model import Sample, SeriesRef
from scrape_push.pipeline import gc_paused
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.remote_write.convert import Encoding, batches, encode_batch, to_series
from scrape_push.sinks.remote_write.encode import LabelEncoder, SampleEncoder, compress

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
    print(f"remote_write codec: {n} series, {MAX_SAMPLES_PER_SEND} samples a request (CPU, best of {ROUNDS})")
    print(f"  parse stage, cold (target to beat):  {parse:.3f} s {n / parse:>12,.0f} samples/s")
    print(f"  encode+compress, cold:               {cold:.3f} s {n / cold:>12,.0f} samples/s")
    print(f"  encode+compress, warm (sink memory): {warm:.3f} s {n / warm:>12,.0f} samples/s")
    print(f"  protobuf library messages, cold:     {reference:.3f} s {n / reference:>12,.0f} samples/s")


def main() -> None:
    codec_figures(exposition())


if __name__ == "__main__":
    main()
