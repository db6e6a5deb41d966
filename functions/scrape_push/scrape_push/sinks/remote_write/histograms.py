"""Native histograms for Remote Write 1.0: ``TimeSeries.histograms`` entries, as Prometheus
sends them with ``send_native_histograms: true`` (``prompb/types.proto``: integer histograms
with ``count_int``, ``zero_count_int`` and bucket deltas; float ones with ``count_float``,
``zero_count_float`` and absolute counts; a gauge histogram with reset hint ``GAUGE``).

Pure: the series' encoded labels come from the sink's memory, as for float samples.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

from ...model import NativeHistogram, Sample, SeriesRef, Spans
from ...protowire import length, varint
from .encode import head_labels
from .limits import MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS

_DOUBLE: Final = struct.Struct("<d").pack

# Tags: (field number << 3) | wire type (0 varint, 1 double, 2 length-delimited).
_TIMESERIES: Final = b"\x0a"  # WriteRequest.timeseries = 1
_HISTOGRAMS: Final = b"\x22"  # TimeSeries.histograms = 4
_COUNT_INT, _COUNT_FLOAT, _SUM, _SCHEMA = b"\x08", b"\x11", b"\x19", b"\x20"  # 1, 2, 3, 4
_ZERO_THRESHOLD, _ZERO_COUNT_INT, _ZERO_COUNT_FLOAT = b"\x29", b"\x30", b"\x39"  # 5, 6, 7
_NEGATIVE_SPANS, _NEGATIVE_DELTAS, _NEGATIVE_COUNTS = b"\x42", b"\x4a", b"\x52"  # 8, 9, 10
_POSITIVE_SPANS, _POSITIVE_DELTAS, _POSITIVE_COUNTS = b"\x5a", b"\x62", b"\x6a"  # 11, 12, 13
_RESET_HINT, _TIMESTAMP = b"\x70", b"\x78"  # 14, 15
_SPAN_OFFSET, _SPAN_LENGTH = b"\x08", b"\x10"  # BucketSpan.offset = 1, .length = 2
_GAUGE: Final = 3
"""``Histogram.ResetHint.GAUGE``."""

HistogramPoint = tuple[bytes, int, NativeHistogram]
"""One histogram sample to send: its series' encoded labels, timestamp, value."""


def histogram_points(
    samples: Sequence[Sample], known: dict[SeriesRef, bytes | str], encode: Callable[[Sample], bytes | str]
) -> tuple[list[HistogramPoint], Counter[str]]:
    """The histogram samples to send, with their series' labels (from their ``series_head``,
    ``known`` by ref, else made by ``encode`` and kept), and those not sent, counted by reason."""
    points: list[HistogramPoint] = []
    dropped: Counter[str] = Counter()
    for sample in samples:
        labels = known.get(sample.series)
        if labels is None:
            labels = known[sample.series] = encode(sample)
        if type(labels) is not bytes:
            dropped[str(labels)] += 1
        elif not MIN_TIMESTAMP_MS <= sample.timestamp_ms <= MAX_TIMESTAMP_MS:
            dropped["timestamp_out_of_range"] += 1
        else:
            assert sample.histogram is not None
            points.append((head_labels(labels), sample.timestamp_ms, sample.histogram))
    return points, dropped


def encode_histograms(points: Sequence[HistogramPoint]) -> bytes:
    """An uncompressed ``WriteRequest`` with one ``TimeSeries`` per point."""
    parts = []
    for labels, stamp, histogram in points:
        entry = _field(_HISTOGRAMS, encode_histogram(histogram, stamp))
        parts.append(_field(_TIMESERIES, labels + entry))
    return b"".join(parts)


def encode_histogram(histogram: NativeHistogram, stamp: int) -> bytes:
    """One ``Histogram`` message. The oneof counts are written even when 0 (proto3 writes a
    oneof's member); other fields only when not their default."""
    h = histogram
    out = bytearray()
    if h.floats:
        out += _COUNT_FLOAT + _DOUBLE(h.count)
    else:
        out += _COUNT_INT + varint(int(h.count))
    if h.sum:
        out += _SUM + _DOUBLE(h.sum)
    if h.schema:
        out += _SCHEMA + varint(_zigzag(h.schema))
    if h.zero_threshold:
        out += _ZERO_THRESHOLD + _DOUBLE(h.zero_threshold)
    if h.floats:
        out += _ZERO_COUNT_FLOAT + _DOUBLE(h.zero_count)
    else:
        out += _ZERO_COUNT_INT + varint(int(h.zero_count))
    out += _side(
        h.negative_spans, h.negative, h.floats, (_NEGATIVE_SPANS, _NEGATIVE_DELTAS, _NEGATIVE_COUNTS)
    )
    out += _side(
        h.positive_spans, h.positive, h.floats, (_POSITIVE_SPANS, _POSITIVE_DELTAS, _POSITIVE_COUNTS)
    )
    if h.gauge:
        out += _RESET_HINT + varint(_GAUGE)
    out += _TIMESTAMP + varint(stamp)
    return bytes(out)


def _side(spans: Spans, counts: tuple[float, ...], floats: bool, tags: tuple[bytes, bytes, bytes]) -> bytes:
    """A side's spans, then its counts: absolute doubles for float histograms, else deltas
    (the first bucket's count, then each bucket's difference from the one before)."""
    out = bytearray()
    for offset, size in spans:
        span = (_SPAN_OFFSET + varint(_zigzag(offset)) if offset else b"") + (
            _SPAN_LENGTH + varint(size) if size else b""
        )
        out += _field(tags[0], span)
    if not counts:
        return bytes(out)
    if floats:
        return bytes(out + _field(tags[2], b"".join(map(_DOUBLE, counts))))
    deltas = [int(count) - int(before) for count, before in zip(counts, (0, *counts[:-1]), strict=True)]
    return bytes(out + _field(tags[1], b"".join(varint(_zigzag(delta)) for delta in deltas)))


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + length(len(payload)) + payload
