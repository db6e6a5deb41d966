"""Remote Write 1.0 wire format: protobuf ``prometheus.WriteRequest`` bytes, snappy-compressed.

The messages are written directly in protobuf's wire format rather than built as protobuf
objects: a series' labels are encoded once, with the bytes that surround them in a one-sample
``TimeSeries`` (``series_head``), and kept by the sink (per ``SeriesRef``), so a warm cycle
only joins each series' head, its sample's double and its timestamp.
``bench/bench_remote_write.py`` measures this against building the same request with the
protobuf library (``devtools.remote_write_proto.remote_pb2``), and the tests decode every byte
produced here with that library. Field numbers are those of
``devtools/remote_write_proto/remote.proto``.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, chain, repeat
from itertools import compress as _where
from operator import add, attrgetter, is_, is_not, itemgetter, lt, not_
from typing import Final, TypeVar

import cramjam

from ... import native
from ...model import Family, Labels, Sample
from ...names import is_legacy
from ...protowire import SMALL_VARINTS as _SMALL_VARINTS
from ...protowire import length as _varint
from ...protowire import varint

_PACK_DOUBLE = struct.Struct("<d").pack

WIRE_API: Final = 1
"""The revision of the wire kernel's interface (``native/wire.c``'s ``API``) this package uses."""
_KERNEL: Final = native.load("wire", WIRE_API)
"""The compiled wire kernel, or ``None``: the pure-Python code here, which is its reference."""

# Tags: (field_number << 3) | wire_type; wire type 2 is length-delimited, 1 is 64-bit, 0 varint.
_WRITE_REQUEST_TIMESERIES = b"\x0a"  # WriteRequest.timeseries = 1
_WRITE_REQUEST_METADATA = b"\x1a"  # WriteRequest.metadata = 3
_TIMESERIES_LABEL = b"\x0a"  # TimeSeries.labels = 1
_TIMESERIES_SAMPLE = b"\x12"  # TimeSeries.samples = 2
_LABEL_NAME = b"\x0a"  # Label.name = 1
_LABEL_VALUE = b"\x12"  # Label.value = 2
_SAMPLE_VALUE = b"\x09"  # Sample.value = 1 (double)
_SAMPLE_TIMESTAMP = b"\x10"  # Sample.timestamp = 2 (int64 varint)
_METADATA_TYPE = b"\x08"  # MetricMetadata.type = 1
_METADATA_NAME = b"\x12"  # MetricMetadata.metric_family_name = 2
_METADATA_HELP = b"\x22"  # MetricMetadata.help = 4
_METADATA_UNIT = b"\x2a"  # MetricMetadata.unit = 5

METRIC_TYPES = {
    "counter": 1,
    "gauge": 2,
    "histogram": 3,
    "gaugehistogram": 4,
    "summary": 5,
    "info": 6,
    "stateset": 7,
}
"""``MetricMetadata.MetricType`` numbers; ``untyped``/``unknown`` are UNKNOWN (0)."""


TimedValue = tuple[int, float]
"""One sample of a series: ``(timestamp_ms, value)``."""


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + _varint(len(payload)) + payload


LABEL_MEMO_SIZE = 65536
"""Label pairs (and metric names) whose encoding a ``LabelEncoder`` remembers at most; it starts
afresh beyond (pairs repeat across series, so a cold cycle encodes each once)."""


def _encode_label(key: str, value: str, utf8_names: bool = False) -> bytes | str:
    if not value:
        return "empty_label_value"
    if key != "__name__" and not (key if utf8_names else is_legacy(key, label=True)):
        return "invalid_label_name"
    try:
        return _field(
            _TIMESERIES_LABEL, _field(_LABEL_NAME, key.encode()) + _field(_LABEL_VALUE, value.encode())
        )
    except UnicodeEncodeError:
        return "invalid_utf8"


_KEY = itemgetter(0)


class LabelEncoder:
    """Encodes series' ``TimeSeries.labels`` (and heads), remembering the encoded ``Label`` of
    each pair and name seen recently, and whether each tuple of label names is plainly sorted
    (each bounded by ``LABEL_MEMO_SIZE``). One per sink: it lives as long as the sink does."""

    __slots__ = ("_names", "_pairs", "_shapes", "utf8_names")

    def __init__(self, utf8_names: bool = False) -> None:
        self.utf8_names = utf8_names
        """Any non-empty name is valid (Prometheus 3.x sends UTF-8 names as they are), not only
        the legacy ones."""
        self._pairs: dict[tuple[str, str], bytes | str] = {}
        """Encoded ``Label`` entries (or why one is invalid), by pair."""
        self._names: dict[str, bytes | str] = {}
        """Encoded ``__name__`` labels (or why a name is invalid)."""
        self._shapes: dict[tuple[str, ...], bool] = {}
        """Whether series of these label names are plainly sorted (``_plain``)."""

    def _label(self, key: str, value: str) -> bytes | str:
        """The encoded ``Label`` of a pair (``Labels`` entries are such pairs)."""
        pairs = self._pairs
        found = pairs.get((key, value))
        if found is None:
            if len(pairs) >= LABEL_MEMO_SIZE:
                pairs.clear()
            found = pairs[(key, value)] = _encode_label(key, value, self.utf8_names)
        return found

    def labels(self, name: str, labels: Labels) -> bytes | str:
        """A series' ``TimeSeries.labels`` bytes, ``__name__`` included and sorted by name.

        Returns the reason as a string instead when Remote Write forbids the label set (so the
        caller can count the drop): an invalid metric or label name, a repeated or empty label.
        ``labels`` is a ``Labels`` tuple (sorted, unique names); when ``__name__`` sorts first, as
        it does unless a label name starts with an upper-case letter or ``_``, the pairs'
        remembered encodings are joined in C.
        """
        head = self._names.get(name)
        if head is None:
            head = self._name(name)
        if type(head) is not bytes:
            return str(head)
        keys = list(map(_KEY, labels))
        if (keys and keys[0] <= "__name__") or keys != sorted(keys) or len(set(keys)) != len(keys):
            return self._sorting(name, labels)
        parts = list(map(self._pairs.get, labels))
        if None in parts:
            parts = [
                found if found is not None else self._label(*pair)
                for found, pair in zip(parts, labels, strict=True)
            ]
        try:
            return head + b"".join(parts)  # type: ignore[arg-type]
        except TypeError:  # a pair is invalid: its entry is the reason
            return next(str(part) for part in parts if type(part) is not bytes)

    def heads(self, names: Sequence[str], label_sets: Sequence[Labels]) -> list[bytes | str]:
        """``series_head(self.labels(name, labels))`` of each series, or the reason it is refused:
        the series a cold cycle meets, in C-level passes over all their pairs. A series whose
        pairs are not plainly sorted after ``__name__``, or one of whose names or pairs is refused,
        takes ``labels``; so does, with the wire kernel, a series it hands back."""
        made = self.compiled(names, label_sets)
        if made is not None:
            return self._handed_back(names, label_sets, made)
        if not names:
            return []
        firsts = _remembered(self._names, names, self._name_label)
        flat = list(chain.from_iterable(label_sets))
        parts = _remembered(self._pairs, flat, self._pair_label)
        ends = list(accumulate(map(len, label_sets)))
        shapes = list(map(tuple, map(map, repeat(_KEY), label_sets)))
        plain = _remembered(self._shapes, shapes, _plain)
        odd = set(_where(range(len(firsts)), map(is_not, map(type, firsts), repeat(bytes))))
        odd.update(_where(range(len(plain)), map(not_, plain)))
        if set(map(type, parts)) != {bytes}:  # the series of a refused pair
            odd.update(
                bisect_right(ends, at)
                for at in _where(range(len(parts)), map(is_not, map(type, parts), repeat(bytes)))
            )
        if not odd:
            return _heads(firsts, parts, [0, *ends[:-1]], ends)  # type: ignore[arg-type]
        out: list[bytes | str] = [b""] * len(firsts)
        others = [index for index in range(len(firsts)) if index not in odd]
        regular = self.heads([names[i] for i in others], [label_sets[i] for i in others])
        for index, head in zip(others, regular, strict=True):
            out[index] = head
        for index in odd:
            labels = self.labels(names[index], label_sets[index])
            out[index] = series_head(labels) if type(labels) is bytes else labels
        return out

    def compiled(self, names: Sequence[str], label_sets: Sequence[Labels]) -> list[bytes | str | None] | None:
        """The wire kernel's heads of the series whose label names are plainly sorted after
        ``__name__`` and whose names, pairs and values are all accepted (``None`` for each other
        series: the Python path's), from and into this encoder's memories; ``None`` without
        the kernel."""
        if _KERNEL is None:
            return None
        made: list[bytes | str | None] | None = _KERNEL.heads(
            names, label_sets, self._names, self._pairs, self.utf8_names, LABEL_MEMO_SIZE
        )
        return made

    def _handed_back(
        self, names: Sequence[str], label_sets: Sequence[Labels], made: list[bytes | str | None]
    ) -> list[bytes | str]:
        """The wire kernel's heads, with those it left (``None``) made by ``labels``."""
        if None in made:
            for index in _where(range(len(made)), map(is_, made, repeat(None))):
                labels = self.labels(names[index], label_sets[index])
                made[index] = series_head(labels) if type(labels) is bytes else labels
        return made  # type: ignore[return-value]

    def _name(self, name: str) -> bytes | str:
        """The encoded ``__name__`` label of ``name`` (or why it is invalid), now remembered."""
        names = self._names
        if len(names) >= LABEL_MEMO_SIZE:
            names.clear()
        names[name] = found = self._name_label(name)
        return found

    def _name_label(self, name: str) -> bytes | str:
        return _encode_label("__name__", name) if self._valid(name) else "invalid_metric_name"

    def _pair_label(self, pair: tuple[str, str]) -> bytes | str:
        return _encode_label(*pair, self.utf8_names)

    def _valid(self, name: str) -> bool:
        return bool(name) if self.utf8_names else is_legacy(name)

    def _sorting(self, name: str, labels: Labels) -> bytes | str:
        if not self._valid(name):
            return "invalid_metric_name"
        out: list[bytes] = []
        previous: str | None = None
        for key, value in sorted((("__name__", name), *labels)):
            if key == previous:
                return "duplicate_label_name"
            previous = key
            encoded = self._label(key, value) if key != "__name__" else _encode_label(key, value)
            if type(encoded) is not bytes:
                return str(encoded)
            out.append(encoded)
        return b"".join(out)


class SampleEncoder:
    """Encodes ``Sample`` messages, reusing the encoding of timestamps seen before."""

    __slots__ = ("_stamps",)

    def __init__(self) -> None:
        self._stamps: dict[int, tuple[bytes, bytes]] = {}

    def parts(self, timestamp_ms: int) -> tuple[bytes, bytes]:
        """What surrounds the 8-byte double of a sample at ``timestamp_ms``: the sample's tag,
        length and value tag before it, its timestamp field after it."""
        parts = self._stamps.get(timestamp_ms)
        if parts is None:
            stamp = _SAMPLE_TIMESTAMP + varint(timestamp_ms)
            head = _TIMESERIES_SAMPLE + varint(9 + len(stamp)) + _SAMPLE_VALUE
            parts = self._stamps[timestamp_ms] = (head, stamp)
        return parts

    def encode(self, timestamp_ms: int, value: float) -> bytes:
        """``TimeSeries.samples`` entry: tag, length, then the double and the int64."""
        head, stamp = self.parts(timestamp_ms)
        return head + _PACK_DOUBLE(value) + stamp


def encode_metadata(family: Family) -> bytes:
    """One ``WriteRequest.metadata`` entry, as Prometheus fills ``MetricMetadata``."""
    body = bytearray()
    kind = METRIC_TYPES.get(family.type, 0)
    if kind:
        body += _METADATA_TYPE + varint(kind)
    body += _field(_METADATA_NAME, family.name.encode("utf-8", "replace"))
    if family.help:
        body += _field(_METADATA_HELP, family.help.encode("utf-8", "replace"))
    if family.unit:
        body += _field(_METADATA_UNIT, family.unit.encode("utf-8", "replace"))
    return _field(_WRITE_REQUEST_METADATA, bytes(body))


def write_request(entries: Iterable[bytes]) -> bytes:
    """A ``WriteRequest``: the concatenation of its encoded entries (repeated fields)."""
    return b"".join(entries)


def compress(payload: bytes) -> bytes:
    """Snappy block format (not framed), as Remote Write requires."""
    return bytes(cramjam.snappy.compress_raw(payload))


def encode_series(entries: Iterable[tuple[bytes, Sequence[TimedValue]]], samples: SampleEncoder) -> bytes:
    """An uncompressed ``WriteRequest`` holding ``(encoded labels, points)`` series."""
    entries = list(entries)
    fast = _single_points_in_head_range(entries)
    if fast is not None:
        return fast
    sample = samples.encode
    small = _SMALL_VARINTS
    parts: list[bytes] = []
    append = parts.append
    for labels, points in entries:
        if len(points) == 1:
            encoded = sample(*points[0])
        else:
            encoded = b"".join([sample(ts, value) for ts, value in points])
        size = len(labels) + len(encoded)
        append(_WRITE_REQUEST_TIMESERIES)
        append(small[size] if size < 16384 else varint(size))
        append(labels)
        append(encoded)
    return b"".join(parts)


_FIRST = itemgetter(0)
_SECOND = itemgetter(1)

_SAMPLE_HEAD = _TIMESERIES_SAMPLE + b"\x10" + _SAMPLE_VALUE
"""A ``TimeSeries.samples`` entry up to its double, for a timestamp in ``HEAD_STAMPS`` (the
entry is 16 bytes: the double's tag and 8 bytes, the timestamp's tag and 6-byte varint)."""
_STAMP_FIELD_BYTES = 7
"""A timestamp's field in ``HEAD_STAMPS``: its tag and a 6-byte varint."""
_SAMPLE_FIELD_BYTES = len(_SAMPLE_HEAD) + 8 + _STAMP_FIELD_BYTES
HEAD_STAMPS = range(2**35, 2**42)
"""Timestamps (ms) whose varint has 6 bytes: 1971-02-21 to 2109-05-15. A series' head
(``series_head``) holds the length of a sample at such a time."""


def series_head(labels: bytes) -> bytes:
    """All of a one-sample ``WriteRequest.timeseries`` entry but its double and timestamp, for a
    timestamp in ``HEAD_STAMPS``: the entry's tag and length, the labels, the sample's tag, length
    and value tag. The sink keeps it per series, so a warm request is three pieces a sample."""
    return _WRITE_REQUEST_TIMESERIES + _varint(len(labels) + _SAMPLE_FIELD_BYTES) + labels + _SAMPLE_HEAD


K = TypeVar("K")
V = TypeVar("V")


def _remembered(memo: dict[K, V], keys: Sequence[K], make: Callable[[K], V]) -> list[V]:
    """``memo``'s entry for each key, those it lacks made once each and remembered (it starts
    afresh beyond ``LABEL_MEMO_SIZE``; more new keys than that at once are not remembered)."""
    found: list[V | None] = list(map(memo.get, keys))
    if None not in found:
        return found  # type: ignore[return-value]
    new = {key: make(key) for key in set(_where(keys, map(is_, found, repeat(None))))}
    if len(new) <= LABEL_MEMO_SIZE:
        if len(memo) + len(new) > LABEL_MEMO_SIZE:
            memo.clear()
        memo.update(new)
    return list(map(new.get, keys, found))  # type: ignore[arg-type]


def _plain(names: tuple[str, ...]) -> bool:
    """Whether label names are sorted, unique and after ``__name__`` (so ``__name__`` goes first)."""
    return all(map(lt, ("__name__", *names), names))


def _heads(
    firsts: Sequence[bytes], parts: list[bytes], starts: list[int], ends: list[int]
) -> list[bytes | str]:
    """The ``series_head`` of series whose ``__name__`` labels are ``firsts`` and whose other
    labels, in order, are ``parts[start:end]``."""
    labels = list(map(b"".join, map(parts.__getitem__, map(slice, starts, ends))))
    sizes = list(map(add, map(len, labels), map(len, firsts)))
    lengths = map(
        _SMALL_VARINTS.__getitem__ if max(sizes) < _LONGEST_SMALL else _varint,
        map(add, sizes, repeat(_SAMPLE_FIELD_BYTES)),
    )
    return list(
        map(b"".join, zip(repeat(_WRITE_REQUEST_TIMESERIES), lengths, firsts, labels, repeat(_SAMPLE_HEAD)))
    )


_LONGEST_SMALL = len(_SMALL_VARINTS) - _SAMPLE_FIELD_BYTES
"""Labels shorter than this make a head whose length is one of the precomputed varints."""


def head_labels(head: bytes) -> bytes:
    """The encoded labels inside a ``series_head``."""
    start = 1
    while head[start] & 0x80:  # the entry's length, a varint
        start += 1
    return head[start + 1 : -len(_SAMPLE_HEAD)]


def _single_points_in_head_range(entries: Sequence[tuple[bytes, Sequence[TimedValue]]]) -> bytes | None:
    """The common request, built in C-level passes: one sample per series, each at a time in
    ``HEAD_STAMPS``. ``None`` when the request is not like that."""
    if not entries or set(map(len, map(_SECOND, entries))) != {1}:
        return None
    points = list(map(_FIRST, map(_SECOND, entries)))
    stamps = list(map(_FIRST, points))
    if min(stamps) not in HEAD_STAMPS or max(stamps) not in HEAD_STAMPS:
        return None
    heads = list(map(series_head, map(_FIRST, entries)))
    return encode_columns(heads, stamps, map(_SECOND, points))


_PACK_SAMPLE_END = struct.Struct(f"<d{_STAMP_FIELD_BYTES}s").pack
"""A sample's double and its timestamp's field (tag and 6-byte varint) in one piece."""


_TIMESTAMP = attrgetter("timestamp_ms")
_VALUE = attrgetter("value")


def encode_heads(heads: Sequence[bytes], samples: Sequence[Sample]) -> bytes:
    """``encode_columns`` of one-sample series' heads and their samples: in one buffer where the
    wire kernel takes them."""
    if _KERNEL is not None:
        body: bytes | None = _KERNEL.columns(heads, samples, Sample)
        if body is not None:
            return body
    return encode_columns(heads, list(map(_TIMESTAMP, samples)), map(_VALUE, samples))


def encode_columns(heads: Sequence[bytes], stamps: Sequence[int], values: Iterable[float]) -> bytes:
    """A ``WriteRequest`` of one-sample series given as their heads (``series_head``) and
    parallel timestamps, all in ``HEAD_STAMPS``, and values: two pieces a sample (the head; the
    double and the timestamp), joined in C."""
    fields = {stamp: _SAMPLE_TIMESTAMP + varint(stamp) for stamp in set(stamps)}
    if any(len(field) != _STAMP_FIELD_BYTES for field in fields.values()):
        raise ValueError("a timestamp outside HEAD_STAMPS in a request of series heads")
    tails = repeat(fields.popitem()[1]) if len(fields) == 1 else map(fields.__getitem__, stamps)
    return b"".join(chain.from_iterable(zip(heads, map(_PACK_SAMPLE_END, values, tails), strict=False)))
