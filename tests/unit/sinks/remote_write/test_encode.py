"""The wire format, checked by decoding with the protobuf library."""

from __future__ import annotations

import math
import random
import struct

import pytest
from scrape_push.model import Family
from scrape_push.sinks.remote_write import encode
from scrape_push.sinks.remote_write.encode import (
    LabelEncoder,
    SampleEncoder,
    compress,
    encode_metadata,
    encode_series,
    varint,
    write_request,
)

from devtools.remote_write_proto import remote_pb2
from tests.support.remote_write import decompress


def _decode(payload: bytes) -> remote_pb2.WriteRequest:
    request = remote_pb2.WriteRequest()
    request.ParseFromString(payload)
    return request


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        ("up", (("instance", "a:1"), ("job", "j")), [("__name__", "up"), ("instance", "a:1"), ("job", "j")]),
        ("m", (("A", "x"), ("z", "y")), [("A", "x"), ("__name__", "m"), ("z", "y")]),
        ("m", (("z", "y"), ("a", "x")), [("__name__", "m"), ("a", "x"), ("z", "y")]),
        ("ns:m_total", (("path", "/é"),), [("__name__", "ns:m_total"), ("path", "/é")]),
        ("m", (), [("__name__", "m")]),
    ],
    ids=["sorted", "uppercase-sorts-before-__name__", "unsorted-input", "utf8-value", "no-labels"],
)
def test_labels_are_sorted_with_name(
    name: str, labels: tuple[tuple[str, str], ...], expected: list[tuple[str, str]]
) -> None:
    encoded = LabelEncoder().labels(name, labels)
    assert isinstance(encoded, bytes)
    request = _decode(encode_series([(encoded, [(1000, 1.0)])], SampleEncoder()))
    assert [(label.name, label.value) for label in request.timeseries[0].labels] == expected


@pytest.mark.parametrize(
    ("name", "labels", "reason"),
    [
        ("0bad", (), "invalid_metric_name"),
        ("m-m", (), "invalid_metric_name"),
        ("m", (("a", "1"), ("a", "2")), "duplicate_label_name"),
        ("m", (("__name__", "x"),), "duplicate_label_name"),
        ("m", (("a", ""),), "empty_label_value"),
        ("m", (("a-b", "1"),), "invalid_label_name"),
        ("m", (("a", "\ud800"),), "invalid_utf8"),
    ],
)
def test_forbidden_label_sets_are_refused(
    name: str, labels: tuple[tuple[str, str], ...], reason: str
) -> None:
    assert LabelEncoder().labels(name, labels) == reason


@pytest.mark.parametrize("timestamp", [0, 1, 1_700_000_000_123, -5, 2**62])
@pytest.mark.parametrize("value", [0.0, -1.5, 1e300, math.inf, -math.inf])
def test_samples_decode_exactly(timestamp: int, value: float) -> None:
    labels = LabelEncoder().labels("m", (("a", "b"),))
    assert isinstance(labels, bytes)
    request = _decode(
        encode_series([(labels, [(timestamp, value), (timestamp + 1, value)])], SampleEncoder())
    )
    samples = request.timeseries[0].samples
    assert [(s.timestamp, s.value) for s in samples] == [(timestamp, value), (timestamp + 1, value)]


def test_stale_nan_keeps_its_bits() -> None:
    stale = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
    labels = LabelEncoder().labels("m", ())
    assert isinstance(labels, bytes)
    decoded = _decode(encode_series([(labels, [(5, stale)])], SampleEncoder())).timeseries[0].samples[0].value
    assert struct.pack("<d", decoded) == struct.pack("<Q", 0x7FF0000000000002)


def test_many_series_and_long_labels() -> None:
    entries = []
    for i in range(300):
        labels = LabelEncoder().labels(f"m_{i}", (("long", "x" * (i * 100 + 1)),))
        assert isinstance(labels, bytes)
        entries.append((labels, [(i, float(i))]))
    request = _decode(encode_series(entries, SampleEncoder()))
    assert len(request.timeseries) == 300
    assert request.timeseries[299].labels[1].value == "x" * 29901


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (Family("http_requests", "counter", "Requests.", ""), (1, "http_requests", "Requests.", "")),
        (Family("temp", "gauge", "", "celsius"), (2, "temp", "", "celsius")),
        (Family("lat", "histogram", "h", "seconds"), (3, "lat", "h", "seconds")),
        (Family("gh", "gaugehistogram"), (4, "gh", "", "")),
        (Family("s", "summary", "q"), (5, "s", "q", "")),
        (Family("build", "info"), (6, "build", "", "")),
        (Family("st", "stateset"), (7, "st", "", "")),
        (Family("u", "untyped", "help"), (0, "u", "help", "")),
    ],
)
def test_metadata_as_prometheus_fills_it(family: Family, expected: tuple[int, str, str, str]) -> None:
    request = _decode(write_request([encode_metadata(family)]))
    (meta,) = request.metadata
    assert (meta.type, meta.metric_family_name, meta.help, meta.unit) == expected
    assert not request.timeseries


@pytest.mark.parametrize("value", [1, 127, 128, 300, 2**32, 2**63 - 1, -1])
def test_varint_matches_protobuf(value: int) -> None:
    sample = remote_pb2.Sample(timestamp=value)
    assert sample.SerializeToString() == b"\x10" + varint(value)


def test_snappy_block_format_round_trips() -> None:
    payload = b"abc" * 10_000
    compressed = compress(payload)
    assert not compressed.startswith(b"\xff\x06\x00\x00sNaPpY")  # not the framed format
    assert decompress(compressed) == payload
    assert compressed[:3] == varint(len(payload))  # block format starts with the length


def test_one_sample_per_series_at_one_time_takes_the_bulk_path_with_identical_bytes() -> None:
    encoder = SampleEncoder()
    entries = [
        (
            LabelEncoder().labels("m", (("i", str(i)), ("x", "y" * (1 + i % 300)))),
            [(1_800_000_000_123, float(i) / 3)],
        )
        for i in range(500)
    ]
    expected = b"".join(encode_timeseries(labels, encoder.encode(*points[0])) for labels, points in entries)
    assert encode_series(entries, encoder) == expected  # type: ignore[arg-type]
    request = remote_pb2.WriteRequest()
    request.ParseFromString(expected)
    assert len(request.timeseries) == 500
    assert request.timeseries[7].samples[0].value == 7 / 3
    assert request.timeseries[7].samples[0].timestamp == 1_800_000_000_123


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_a_value_beyond_64_bits_is_refused_never_wrapped(value: int) -> None:
    with pytest.raises(OverflowError):
        varint(value)


def encode_timeseries(labels: bytes, samples: bytes) -> bytes:
    """One ``WriteRequest.timeseries`` entry from encoded labels and encoded samples (field 1)."""
    return b"\x0a" + varint(len(labels) + len(samples)) + labels + samples


_NAMES = ["m", "up", "ns:m_total", "", "0bad", "m-m", "é_total"]
_LABEL_NAMES = ["a", "b", "instance", "job", "zz", "A", "_x", "__name__", "a-b", "", "é"]
_VALUES = ["1", "x", "", "\ud800", "/é", "v" * 200]


@pytest.mark.parametrize("utf8", [False, True], ids=["legacy", "utf8"])
@pytest.mark.parametrize("seed", range(25))
def test_heads_in_bulk_are_the_heads_one_by_one(
    seed: int, utf8: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorted or not, repeated names, refused names, pairs and values, long heads, a memory that
    starts afresh: ``heads`` gives each series what ``labels`` and ``series_head`` give."""
    rng = random.Random(seed)
    if seed % 3 == 0:
        monkeypatch.setattr(encode, "LABEL_MEMO_SIZE", 4)
    names, label_sets = [], []
    for _ in range(rng.randint(0, 60)):
        pairs = [(rng.choice(_LABEL_NAMES), rng.choice(_VALUES)) for _ in range(rng.randint(0, 5))]
        if rng.random() < 0.8:
            pairs = sorted(dict(pairs).items())
        if rng.random() < 0.05:
            pairs.append(("long", "y" * 17_000))
        names.append(rng.choice(_NAMES))
        label_sets.append(tuple(pairs))
    bulk, one = LabelEncoder(utf8), LabelEncoder(utf8)
    for _ in range(2):  # the second time from what each remembered
        expected = [
            encode.series_head(found) if type(found) is bytes else found
            for found in map(one.labels, names, label_sets)
        ]
        assert bulk.heads(names, label_sets) == expected


def test_the_bulk_memory_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encode, "LABEL_MEMO_SIZE", 8)
    encoder = LabelEncoder()
    many = [tuple((f"l{j}", str(i)) for j in range(3)) for i in range(20)]  # 60 new pairs at once
    assert encoder.heads(["m"] * 20, many) == [encode.series_head(encoder.labels("m", s)) for s in many]  # type: ignore[arg-type]
    for labels in many[:3]:
        encoder.heads(["m"], [labels])
        assert len(encoder._pairs) <= 8 and len(encoder._names) <= 8 and len(encoder._shapes) <= 8
