"""Protobuf exposition benchmark (issue 16): the hand-written parser beside the text parser for
an equivalent payload, and beside the ``protobuf`` runtime, whose adoption this measures.

The payload is bench_parse.py's 100,000 series (counters, gauges, histograms with 12 buckets),
written once as text 0.0.4 and once as delimited ``MetricFamily`` messages with the same
series and values (the ``+Inf`` bucket implicit, as Go clients write it). Reported, from this
one run:

- the scrape stage (series cache: parse, target labels, samples with refs), cold and warm, for
  text and for protobuf;
- the parse alone (``Format.chunks``), cold, for protobuf;
- the ``protobuf`` runtime (upb) decoding the same body into messages and reading every
  series' name, labels and value: the least a parser built on it would do, with none of the
  validation or the series keys;
- the cold import of each protobuf decoder, in fresh interpreters (best of 5): what a Lambda
  cold start would pay.

    .venv/bin/python bench/bench_protobuf.py
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from bench_parse import CONTENT_TYPE as TEXT
from bench_parse import SCRAPE_MS, SERIES, TARGET, best, machine, payload
from scrape_push.labels import finisher
from scrape_push.parse import PROTOBUF
from scrape_push.scrape import SeriesCache

from tests.support import protobuf as pb
from tests.support.parsing import parse_exposition

_KINDS = {"counter": pb.COUNTER, "gauge": pb.GAUGE, "untyped": pb.UNTYPED, "histogram": pb.HISTOGRAM}

DESCRIPTOR_CODE = """
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

def _message(file, name, fields):
    message = file.message_type.add(name=name)
    for number, (field, kind, label, type_name) in enumerate(fields, 1):
        if field:
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name:
                added.type_name = type_name

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
file = descriptor_pb2.FileDescriptorProto(name="bench_metrics.proto", package="bench", syntax="proto2")
_message(file, "LabelPair", [("name", F.TYPE_STRING, OPT, ""), ("value", F.TYPE_STRING, OPT, "")])
_message(file, "Value", [("value", F.TYPE_DOUBLE, OPT, "")])
_message(file, "Bucket", [
    ("cumulative_count", F.TYPE_UINT64, OPT, ""), ("upper_bound", F.TYPE_DOUBLE, OPT, ""),
])
_message(file, "Histogram", [
    ("sample_count", F.TYPE_UINT64, OPT, ""), ("sample_sum", F.TYPE_DOUBLE, OPT, ""),
    ("bucket", F.TYPE_MESSAGE, REP, ".bench.Bucket"),
])
_message(file, "Metric", [
    ("label", F.TYPE_MESSAGE, REP, ".bench.LabelPair"), ("gauge", F.TYPE_MESSAGE, OPT, ".bench.Value"),
    ("counter", F.TYPE_MESSAGE, OPT, ".bench.Value"), (None, 0, 0, ""),
    ("untyped", F.TYPE_MESSAGE, OPT, ".bench.Value"), ("timestamp_ms", F.TYPE_INT64, OPT, ""),
    ("histogram", F.TYPE_MESSAGE, OPT, ".bench.Histogram"),
])
_message(file, "MetricFamily", [
    ("name", F.TYPE_STRING, OPT, ""), ("help", F.TYPE_STRING, OPT, ""), ("type", F.TYPE_INT32, OPT, ""),
    ("metric", F.TYPE_MESSAGE, REP, ".bench.Metric"),
])
pool = descriptor_pool.DescriptorPool()
pool.Add(file)
MetricFamily = message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.MetricFamily"))
"""
"""The messages the runtime decodes, built at run time (no generated code in the repository)."""

namespace: dict[str, object] = {}
exec(DESCRIPTOR_CODE, namespace)
MetricFamily = namespace["MetricFamily"]


def to_protobuf(text: bytes) -> bytes:
    """The delimited ``MetricFamily`` messages of the same series as ``text``."""
    families: dict[str, list[object]] = defaultdict(list)
    kinds: dict[str, tuple[str, str]] = {}
    for sample in parse_exposition(text, TEXT):
        families[sample.family.name].append(sample)
        kinds[sample.family.name] = (sample.family.type, sample.family.help)
    out = []
    for name, samples in families.items():
        kind, help_ = kinds[name]
        out.append(pb.family(name, _KINDS[kind], list(_metrics(kind, samples)), help_=help_))
    return pb.delimited(*out)


def _metrics(kind: str, samples: list[object]) -> Iterator[bytes]:
    if kind != "histogram":
        for s in samples:
            yield pb.metric(dict(s.labels), **{kind: s.value})  # type: ignore[attr-defined,arg-type]
        return
    grouped: dict[tuple[tuple[str, str], ...], dict[str, object]] = defaultdict(lambda: {"buckets": []})
    for s in samples:
        base = tuple(pair for pair in s.labels if pair[0] != "le")  # type: ignore[attr-defined]
        found = grouped[base]
        if s.name.endswith("_bucket"):  # type: ignore[attr-defined]
            le = float(dict(s.labels)["le"])  # type: ignore[attr-defined]
            if le != float("inf"):
                found["buckets"].append((le, int(s.value)))  # type: ignore[attr-defined,union-attr]
        else:
            found[s.name.rsplit("_", 1)[1]] = s.value  # type: ignore[attr-defined]
    for base, found in grouped.items():
        histogram = pb.histogram(int(found["count"]), found["sum"], found["buckets"])  # type: ignore[arg-type]
        yield pb.metric(dict(base), histogram=histogram)


def runtime_walk(data: bytes) -> int:
    """Decode with the protobuf runtime and read each series: the floor of a runtime parser."""
    from google.protobuf.internal.decoder import _DecodeVarint32  # type: ignore[attr-defined]

    count = at = 0
    end = len(data)
    parse = MetricFamily.FromString  # type: ignore[attr-defined]
    while at < end:
        size, at = _DecodeVarint32(data, at)
        family = parse(data[at : at + size])
        at += size
        kind = family.type
        for m in family.metric:
            labels = [(pair.name, pair.value) for pair in m.label]
            if kind == pb.HISTOGRAM:
                h = m.histogram
                values = [
                    h.sample_count,
                    h.sample_sum,
                    *(b.cumulative_count for b in h.bucket),
                    h.sample_count,
                ]
                count += len(values) if labels is not None else 0
            else:
                value = (
                    m.counter if kind == pb.COUNTER else m.gauge if kind == pb.GAUGE else m.untyped
                ).value
                count += 1 if value is not None else 0
    return count


def cold_import(code: str) -> float:
    """Best of 5 fresh interpreters: seconds to run ``code`` (imports included)."""
    timer = f"import time\nstart = time.perf_counter()\n{code}\nprint(time.perf_counter() - start)\n"
    return min(float(_child(["-c", timer]).stdout) for _ in range(5))


def own_import() -> float:
    """Best of 5 fresh interpreters: seconds the hand-written decoder's modules take to import
    (their own time in ``-X importtime``; the text formats they share the package with left out)."""
    ours = {"scrape_push.parse.protobuf", "scrape_push.parse.protohist", "scrape_push.protowire"}
    best_us = None
    for _ in range(5):
        report = _child(["-X", "importtime", "-c", "import scrape_push.parse"]).stderr
        rows = [line.split("|") for line in report.splitlines() if line.startswith("import time:")]
        spent = sum(int(row[0].split(":")[1]) for row in rows if row[2].strip() in ours)
        best_us = spent if best_us is None else min(best_us, spent)
    return (best_us or 0) / 1e6


def _child(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "functions" / "scrape_push")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, env=env)


HOSTILE_CODE = """
import resource, sys
sys.path.insert(0, "bench")
from bench_protobuf import MetricFamily
from scrape_push.parse import PROTOBUF
from tests.support import protobuf as pb
family = pb.string(1, "g") + pb.uint(3, 1) + b"\\x22\\x00" * 4_000_000
body = pb.delimited(family)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{decode}
print(len(body), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""
"""One family of 4,000,000 empty metrics (8 MB): what decoding it holds at its peak."""

OURS = "for chunk in PROTOBUF.chunks(body, {}, {}): pass"
RUNTIME = "for m in MetricFamily.FromString(family).metric: pass"


def hostile_peak(decode: str) -> tuple[int, int]:
    """The hostile body's size and the peak RSS growth while ``decode`` reads it (a child)."""
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'functions' / 'scrape_push'}"}
    code = HOSTILE_CODE.format(decode=decode)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    size, peak = out.stdout.split()
    return int(size), int(peak)


def main() -> None:
    from google.protobuf.internal import api_implementation

    first_text, second_text = payload(1), payload(2)
    first, second = to_protobuf(first_text), to_protobuf(second_text)
    print(f"machine: {machine()}")
    sizes = f"{len(first_text) / 1e6:.1f} MB text 0.0.4, {len(first) / 1e6:.1f} MB protobuf"
    print(f"payload: {SERIES} series: {sizes}")

    def cold(body: bytes, content_type: str) -> int:
        return len(SeriesCache(finisher(TARGET)).samples(body, content_type, SCRAPE_MS))

    def warm(bodies: tuple[bytes, bytes], content_type: str) -> tuple[float, int]:
        cache = SeriesCache(finisher(TARGET))
        cache.samples(bodies[0], content_type, SCRAPE_MS)
        flip = list(bodies)

        def once() -> int:
            flip.reverse()
            return len(cache.samples(flip[0], content_type, SCRAPE_MS))

        return best(3, once)

    rows = [
        ("text 0.0.4, scrape stage, cold", best(3, lambda: cold(first_text, TEXT))),
        ("text 0.0.4, scrape stage, warm", warm((first_text, second_text), TEXT)),
        ("protobuf, scrape stage, cold", best(3, lambda: cold(first, pb.CONTENT_TYPE))),
        ("protobuf, scrape stage, warm", warm((first, second), pb.CONTENT_TYPE)),
        (
            "protobuf, parse alone, cold",
            best(3, lambda: sum(len(c.values) for c in PROTOBUF.chunks(first, {}, {}))),
        ),
        (
            f"protobuf runtime ({api_implementation.Type()}), decode + walk",
            best(3, lambda: runtime_walk(first)),
        ),
    ]
    for label, (seconds, count) in rows:
        assert count == SERIES, (label, count)
        print(f"{label:44} {SERIES / seconds:12,.0f} samples/s  ({seconds * 1000:7.1f} ms)")
    print(f"{'cold import, hand-written decoder (own modules)':44} {own_import() * 1000:7.1f} ms")
    print(f"{'cold import, protobuf runtime + descriptor':44} {cold_import(DESCRIPTOR_CODE) * 1000:7.1f} ms")
    for label, decode in (("hand-written decoder", OURS), ("protobuf runtime", RUNTIME)):
        size, peak = hostile_peak(decode)
        print(f"peak RSS growth, {size / 1e6:.0f} MB of empty metrics, {label:20} {peak / 1e6:7.1f} MB")


if __name__ == "__main__":
    main()
