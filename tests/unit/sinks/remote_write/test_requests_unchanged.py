"""The Remote Write sink's requests, byte for byte, against those the sink sent before its
per-sample cost was cut (issue 20): a differential test over varied cycles.

Each case runs a few cycles of a seeded fleet (many targets scraped at different milliseconds,
synthetic series, stale markers, exposed timestamps in and out of a series head's range and of
int64, series gone and forgotten, new series, duplicates of a series and of its labels across
targets, forbidden names and values, native histograms, metadata) through one sink's
``prepare``, and compares every request -- its chain, samples, the SHA-256 of its uncompressed
body and that body decoded by the protobuf library -- and the drops with
``golden/requests_unchanged.json.gz``, written by the code before that work (commit bde5b41).
After a deliberate change to what is sent, regenerate with ``UPDATE_GOLDEN=1`` and review.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import random
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from scrape_push.model import STALE_NAN, Family, Labels, MetricType, NativeHistogram, Sample
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.remote_write import convert, encode
from scrape_push.sinks.remote_write.encode import WIRE_API
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from devtools.remote_write_proto import remote_pb2
from tests.support.context import build_context
from tests.support.native import compiled
from tests.support.prompb_histograms import WriteRequest
from tests.support.remote_write import decompress
from tests.unit.sinks.remote_write.test_transport import _config

GOLDEN = Path(__file__).parent / "golden" / "requests_unchanged.json.gz"
_DOUBLE = struct.Struct("<d")
BASE_MS = 1_790_000_000_000
"""In a series head's range of timestamps (6-byte varints)."""


@dataclass(frozen=True)
class Case:
    seed: int
    targets: int
    series: int
    cycles: int = 3
    config: str = ""
    escaping: str = "allow-utf-8"
    exposed_stamps: bool = False
    """Some series carry their own timestamps: out of a head's range, out of int64, repeated."""
    collisions: bool = False
    """Two targets expose the same labels (distinct series, equal labels), a series repeats."""
    hostile: bool = False
    """Forbidden metric and label names, empty values, names sorting before ``__name__``."""
    histograms: bool = False


CASES = {
    "fleet_2000": Case(1, targets=12, series=300),
    "fleet_small_requests": Case(
        2, targets=9, series=120, config="    queue_config: {max_samples_per_send: 7}\n"
    ),
    "one_sample_requests": Case(
        3, targets=3, series=40, config="    queue_config: {max_samples_per_send: 1}\n"
    ),
    "big_target": Case(4, targets=1, series=3000),
    "exposed_timestamps": Case(
        5,
        targets=6,
        series=150,
        exposed_stamps=True,
        config="    queue_config: {max_samples_per_send: 100}\n",
    ),
    "collisions": Case(6, targets=25, series=100, collisions=True),
    "hostile_names": Case(7, targets=20, series=120, hostile=True),
    "escaped_names": Case(8, targets=20, series=120, hostile=True, escaping="underscores"),
    "write_relabel": Case(
        9,
        targets=25,
        series=100,
        config=(
            "    write_relabel_configs:\n"
            "      - {source_labels: [slot], regex: '[0-2]', action: drop}\n"
            "      - {regex: instance, action: labeldrop}\n"
            "      - {target_label: env, replacement: prod}\n"
            "    queue_config: {max_samples_per_send: 50}\n"
        ),
    ),
    "native_histograms": Case(
        10,
        targets=5,
        series=80,
        histograms=True,
        config="    send_native_histograms: true\n    queue_config: {max_samples_per_send: 30}\n",
    ),
    "no_metadata": Case(11, targets=5, series=80, config="    metadata_config: {send: false}\n"),
    "metadata_small": Case(
        12, targets=5, series=200, config="    metadata_config: {max_samples_per_send: 3}\n"
    ),
    "everything": Case(
        13,
        targets=16,
        series=150,
        exposed_stamps=True,
        collisions=True,
        hostile=True,
        histograms=True,
        config="    send_native_histograms: true\n    queue_config: {max_samples_per_send: 64}\n",
    ),
}

SYNTHETIC = (
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
)
TYPES: tuple[MetricType, ...] = ("counter", "gauge", "untyped", "histogram", "summary")


class Fleet:
    """A seeded fleet's cycles: each target's series keep their refs from cycle to cycle."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.rng = random.Random(case.seed)
        self.refs: dict[tuple[int, str, Labels], int] = {}
        self.families = [
            Family(f"node_family_{i}", TYPES[i % len(TYPES)], f"Help of family {i}." if i % 4 else "", "")
            for i in range(max(2, case.series // 5))
        ]
        self.synthetic = [Family(name, "gauge") for name in SYNTHETIC]
        self.gone: set[int] = set()

    def ref(self, target: int, name: str, labels: Labels) -> int:
        key = (target, name, labels)
        if key not in self.refs:
            self.refs[key] = len(self.refs) * 3 + 7  # refs as a series cache gives them: unique, not dense
        return self.refs[key]

    def target_labels(self, target: int) -> Labels:
        instance = "shared:1" if self.case.collisions and target in (1, 2) else f"127.0.0.1:{10000 + target}"
        return (("instance", instance), ("job", f"job-{target % 3}"), ("sender", "handler"))

    def series_of(self, target: int, cycle: int) -> list[tuple[str, Labels, Family]]:
        """A target's series this cycle (a few come and go from cycle to cycle)."""
        out: list[tuple[str, Labels, Family]] = []
        case = self.case
        for index in range(case.series):
            if (index * 7 + target + cycle) % 97 == 0:  # churn: gone this cycle
                continue
            family = self.families[index % len(self.families)]
            suffix = "_total" if family.type == "counter" else ""
            pairs = [("cpu", str(index % 8)), ("slot", str(index // 8)), *self.target_labels(target)]
            if case.hostile and index % 23 == 3:
                pairs.append(("Bad.Label" if index % 2 else "Upper", "v"))
            if case.hostile and index % 29 == 5:
                pairs.append(("zempty", ""))
            if case.hostile and index % 37 == 11:
                pairs.append(("", "no name") if index % 2 else ("surrogate", "\ud800"))
            name = family.name + suffix
            if case.hostile and index % 31 == 7:
                name = f"bad-name.{index}" if index % 2 else ""
            out.append((name, tuple(sorted(pairs)), family))
        return out

    def cycle(self, cycle: int) -> list[Sample]:
        rng, case = self.rng, self.case
        samples: list[Sample] = []
        for target in range(case.targets):
            scrape_ms = BASE_MS + cycle * 60_000 + target * 3 + rng.randrange(3)
            for name, labels, family in self.series_of(target, cycle):
                ref = self.ref(target, name, labels)
                value = rng.choice([rng.random() * 1e6, float(rng.randrange(100)), 0.0, -1.5])
                stamp = scrape_ms
                if case.exposed_stamps and ref % 11 == 0:
                    stamp = rng.choice(
                        [1000, 2**35 - 1, 2**42, 2**42 + 5, 2**63, -(2**63) - 1, -5, scrape_ms - 1]
                    )
                samples.append(Sample(name, labels, value, stamp, family, ref))
                if case.collisions and ref % 37 == 0:  # the same series again, later
                    samples.append(
                        Sample(name, labels, value + 1, stamp + rng.choice([0, 1, -2]), family, ref)
                    )
                if case.histograms and ref % 13 == 0:
                    samples.append(self._histogram(target, name, labels, family, scrape_ms))
            for name, family in zip(SYNTHETIC, self.synthetic, strict=True):
                labels = self.target_labels(target)
                samples.append(
                    Sample(
                        name,
                        labels,
                        float(rng.randrange(1000)),
                        scrape_ms,
                        family,
                        self.ref(target, name, labels),
                    )
                )
            for name, labels, family in self.stale(target, cycle):
                samples.append(
                    Sample(name, labels, STALE_NAN, scrape_ms, family, self.ref(target, name, labels))
                )
        return samples

    def stale(self, target: int, cycle: int) -> list[tuple[str, Labels, Family]]:
        """The series the target exposed last cycle and not this one: their staleness markers."""
        if cycle == 0:
            return []
        now = {(name, labels) for name, labels, _ in self.series_of(target, cycle)}
        return [item for item in self.series_of(target, cycle - 1) if (item[0], item[1]) not in now]

    def _histogram(self, target: int, name: str, labels: Labels, family: Family, stamp: int) -> Sample:
        labels = tuple(sorted((*labels, ("native", "1"))))
        value = NativeHistogram(
            count=10,
            sum=self.rng.random() * 100,
            schema=self.rng.choice([0, 3]),
            zero_threshold=1e-128,
            zero_count=1,
            positive_spans=((0, 2), (1, 1)),
            positive=(3, 4, 2),
        )
        ref = self.ref(target, name + "_native", labels)
        return Sample(name + "_native", labels, float("nan"), stamp, family, ref, None, value)


def _decoded(raw: bytes) -> dict[str, Any]:
    request = remote_pb2.WriteRequest()
    request.ParseFromString(raw)
    histograms = WriteRequest.FromString(raw)  # the library's messages predate native histograms
    return {
        "series": [
            [
                [[label.name, label.value] for label in series.labels],
                [[s.timestamp, _DOUBLE.pack(s.value).hex()] for s in series.samples],
                [h.SerializeToString().hex() for h in with_histograms.histograms],
            ]
            for series, with_histograms in zip(request.timeseries, histograms.timeseries, strict=True)
        ],
        "metadata": [[m.type, m.metric_family_name, m.help, m.unit] for m in request.metadata],
    }


def run_case(case: Case) -> list[dict[str, Any]]:
    """Every cycle's requests and drops, as the sink prepares them."""
    context = replace(build_context(), name_escaping=case.escaping)
    sink = RemoteWriteSink(_config(case.config), context)
    fleet = Fleet(case)
    out: list[dict[str, Any]] = []
    for number in range(case.cycles):
        samples = fleet.cycle(number)
        report = SinkReport(sink.name, sink.kind)
        prepared = sink.prepare(samples, report)
        requests = []
        for request in prepared.requests:
            raw = decompress(request.body())
            requests.append(
                {
                    "chain": request.chain,
                    "samples": request.samples,
                    "durable": request.durable,
                    "sha256": hashlib.sha256(raw).hexdigest(),
                    "decoded": _decoded(raw),
                }
            )
        out.append(
            {"offered": len(samples), "dropped": dict(sorted(report.dropped.items())), "requests": requests}
        )
        gone = {ref for key, ref in fleet.refs.items() if key[0] == 0 and ref % 5 == 0}
        sink.forget(gone)  # the scrape stage retires some series of the first target
        for key in [key for key, ref in fleet.refs.items() if ref in gone]:
            del fleet.refs[key]  # ... which come back under new refs
    return out


@functools.cache
def _golden() -> dict[str, Any]:
    with gzip.open(GOLDEN, "rt") as file:
        return json.load(file)  # type: ignore[no-any-return]


def test_update_golden() -> None:
    if not os.environ.get("UPDATE_GOLDEN"):
        pytest.skip("UPDATE_GOLDEN=1 writes the golden file from the code as it is")
    GOLDEN.parent.mkdir(exist_ok=True)
    data = {name: run_case(case) for name, case in CASES.items()}
    with gzip.open(GOLDEN, "wt", compresslevel=9) as file:
        json.dump(data, file, separators=(",", ":"))


@pytest.mark.parametrize(
    "kernel", [pytest.param(True, marks=pytest.mark.native), False], ids=["wire", "python"]
)
@pytest.mark.parametrize("tile", [None, 7], ids=["tile", "tile7"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_requests_are_those_sent_before(
    name: str, tile: int | None, kernel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with other sizes of the grouping's tiles: series new, dropped or repeated on either
    side of a tile's end; with the wire kernel (``native/wire.c``) and with the pure-Python path."""
    if kernel:
        compiled("wire", WIRE_API)
    else:
        monkeypatch.setattr(convert, "_KERNEL", None)
        monkeypatch.setattr(encode, "_KERNEL", None)
    if tile is not None:
        monkeypatch.setattr(convert, "TILE", tile)
    expected = _golden()[name]
    found = run_case(CASES[name])
    assert [len(cycle["requests"]) for cycle in found] == [len(cycle["requests"]) for cycle in expected]
    for now, before in zip(found, expected, strict=True):
        assert (now["offered"], now["dropped"]) == (before["offered"], before["dropped"])
        for request, old in zip(now["requests"], before["requests"], strict=True):
            assert request["decoded"] == old["decoded"]
            assert request == old


def test_the_cases_cover_what_they_say() -> None:
    """The payloads take the paths they are for: drops of every kind, stale markers, native
    histograms, series of several samples."""
    found = _golden()
    assert sorted(found) == sorted(CASES)
    drops = {reason for cycles in found.values() for cycle in cycles for reason in cycle["dropped"]}
    assert {
        "duplicate_timestamp",
        "timestamp_out_of_range",
        "invalid_metric_name",
        "invalid_label_name",
        "empty_label_value",
        "invalid_utf8",
        "write_relabel",
    } <= drops
    assert any(
        series[2]
        for cycle in found["native_histograms"]
        for r in cycle["requests"]
        for series in r["decoded"]["series"]
    )
    stale = _DOUBLE.pack(STALE_NAN).hex()
    assert any(
        point[1] == stale
        for cycle in found["fleet_2000"]
        for r in cycle["requests"]
        for series in r["decoded"]["series"]
        for point in series[1]
    )
    several = [
        series
        for cycle in found["collisions"]
        for r in cycle["requests"]
        for series in r["decoded"]["series"]
        if len(series[1]) > 1
    ]
    assert several, "no series with several samples: the grouping was not taken"
