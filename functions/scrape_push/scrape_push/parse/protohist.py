"""The ``Histogram`` message of the protobuf exposition, as Prometheus reads it
(``protobufparse.go``): its classic part (``_count``, ``_sum``, the buckets), and its native part
(schema, zero bucket, spans with deltas or counts) as a ``NativeHistogram``. Without native
histograms (Prometheus 3.x's ``scrape_native_histograms: false``) the native part is skipped,
and a native histogram reads as a classic one with its ``+Inf`` bucket only."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, Final

from ..histogram import MAX_SCHEMA, MIN_SCHEMA, compact, indexed, reduce_resolution
from ..model import Exemplar, NativeHistogram, Spans
from ..protowire import (
    I64,
    LEN,
    VARINT,
    Field,
    WireError,
    expect,
    fields,
    read_double,
    read_varint,
    scalars,
    zigzag,
)

INF: Final = math.inf

_COUNT_TAG: Final = 1 << 3 | VARINT
_BOUND_TAG: Final = 2 << 3 | I64

ExemplarReader = Callable[[int, int], Exemplar]
"""Reads the ``Exemplar`` message at ``data[a:b]``."""


_TOTALS: Final[dict[int, Field]] = {
    1: (VARINT, "sample_count"),
    2: (I64, "sample_sum"),
    4: (I64, "sample_count_float"),
}
_BUCKET: Final[dict[int, Field]] = {
    1: (VARINT, "cumulative_count"),
    2: (I64, "upper_bound"),
    3: (LEN, "exemplar"),
    4: (I64, "cumulative_count_float"),
}


def totals(data: bytes, values: list[tuple[int, int]]) -> tuple[float, float]:
    """A histogram's ``_count`` and ``_sum``: ``sample_count_float`` when above 0, else
    ``sample_count`` (3.x; 2.42 ignored the float counts of classic histograms)."""
    found: dict[int, Any] = {}
    for a, b in values:
        scalars(data, a, b, _TOTALS, found)
    return _count(found.get(1, 0), found.get(4, 0.0)), found.get(2, 0.0)


def buckets(
    data: bytes, values: list[tuple[int, int]], exemplar: ExemplarReader
) -> Iterator[tuple[float, float, Exemplar | None, int]]:
    """Each classic bucket in message order: its upper bound, cumulative count
    (``cumulative_count_float`` when above 0), exemplar, and where its message ends."""
    for a, b in values:
        for number, wire, c, d, where in fields(data, a, b):
            if number == 3:
                expect(wire, LEN, "bucket", where)
                yield (*_bucket(data, c, d, exemplar), d)


def _bucket(
    data: bytes, start: int, end: int, exemplar: ExemplarReader
) -> tuple[float, float, Exemplar | None]:
    if start < end and data[start] == _COUNT_TAG:  # the common layout: cumulative_count, upper_bound
        count, at = read_varint(data, start + 1, end)
        if at + 9 == end and data[at] == _BOUND_TAG:
            return read_double(data, at + 1), float(count), None
    found = scalars(data, start, end, _BUCKET, {})
    sample = exemplar(*found[3]) if 3 in found else None
    return found.get(2, 0.0), _count(found.get(1, 0), found.get(4, 0.0)), sample


def _count(count: int, count_float: float) -> float:
    return count_float if count_float > 0 else float(count)


# -- the native part ------------------------------------------------------------------------------

MAX_NATIVE_BUCKETS: Final = 1 << 16
"""Buckets one native histogram may have (its spans' lengths added), so that decoding one is
bounded however long its spans claim to be. Schema 8, the finest, needs about 4,400 buckets
for nine decades of values."""

_NATIVE: Final[dict[int, Field]] = {
    1: (VARINT, "sample_count"),
    2: (I64, "sample_sum"),
    4: (I64, "sample_count_float"),
    5: (VARINT, "schema"),
    6: (I64, "zero_threshold"),
    7: (VARINT, "zero_count"),
    8: (I64, "zero_count_float"),
}
MAX_RESERVED_SCHEMA: Final = 52
"""Schemas 9 to 52 are reserved for finer exponential histograms: Prometheus 3.x reduces them
to 8 when it appends them (2.42 stores them as sent and cannot query them), and so do we."""
_SPANS: Final = {9: "negative", 12: "positive"}
_DELTAS: Final = {10: "negative", 13: "positive"}
_COUNTS: Final = {11: "negative", 14: "positive"}


def is_native(data: bytes, values: list[tuple[int, int]]) -> bool:
    """Whether the histogram is native, as Prometheus 3.x decides it: it has a span (positive
    or negative, a no-op one included), a zero threshold or a zero count above 0."""
    found: dict[int, Any] = {}
    for a, b in values:
        for number, _, _, _, _ in fields(data, a, b):
            if number in _SPANS:
                return True
        scalars(data, a, b, _NATIVE, found)
    return bool(found.get(6, 0.0) > 0 or found.get(7, 0) > 0)


class _Side:
    """One side's spans and counts as read (deltas for integer counts)."""

    __slots__ = ("counts", "deltas", "spans", "wanted")

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []
        self.wanted = 0
        self.deltas: list[int] = []
        self.counts: list[float] = []


def native(
    data: bytes, values: list[tuple[int, int]], exemplar: ExemplarReader, gauge: bool
) -> tuple[NativeHistogram, Exemplar | None]:
    """The native part as a ``NativeHistogram`` (compact, absolute counts), and its exemplar:
    the first of ``exemplars`` with a timestamp, else the first bucket's with one (2.42 keeps
    one exemplar per sample)."""
    found: dict[int, Any] = {}
    sides = {"negative": _Side(), "positive": _Side()}
    for a, b in values:
        scalars(data, a, b, _NATIVE, found)
        _read_sides(data, a, b, sides)
    schema = zigzag(found.get(5, 0))
    if not MIN_SCHEMA <= schema <= MAX_RESERVED_SCHEMA:
        raise WireError(
            f"native histogram schema {schema} is out of range [{MIN_SCHEMA}, {MAX_RESERVED_SCHEMA}]",
            values[0][0],
        )
    floats = found.get(4, 0.0) > 0 or found.get(8, 0.0) > 0
    negative = _buckets(sides["negative"], floats, values[0][0])
    positive = _buckets(sides["positive"], floats, values[0][0])
    histogram = NativeHistogram(
        count=found.get(4, 0.0) if floats else found.get(1, 0),
        sum=found.get(2, 0.0),
        schema=schema,
        zero_threshold=found.get(6, 0.0),
        zero_count=found.get(8, 0.0) if floats else found.get(7, 0),
        positive_spans=positive[0],
        positive=positive[1],
        negative_spans=negative[0],
        negative=negative[1],
        floats=floats,
        gauge=gauge,
    )
    _check_count(histogram, values[0][0])
    if schema > MAX_SCHEMA:
        histogram = reduce_resolution(histogram, MAX_SCHEMA)
    return histogram, _native_exemplar(data, values, exemplar)


def _check_count(histogram: NativeHistogram, at: int) -> None:
    """An integer histogram's count covers its zero bucket and buckets, as Prometheus's appender
    checks it (2.42 fails the scrape otherwise, observed; a float one's count may be NaN)."""
    if histogram.floats:
        return
    buckets = histogram.zero_count + sum(histogram.positive) + sum(histogram.negative)
    if histogram.count < buckets:
        raise WireError(
            f"native histogram: count {histogram.count:g} is less than its buckets' {buckets:g}", at
        )


def _read_sides(data: bytes, start: int, end: int, sides: dict[str, _Side]) -> None:
    for number, wire, a, b, where in fields(data, start, end):
        if number in _SPANS:
            expect(wire, LEN, "bucket span", where)
            side = sides[_SPANS[number]]
            span = scalars(data, a, b, _SPAN, {})
            offset, length = zigzag(span.get(1, 0)), span.get(2, 0)
            if not -(1 << 31) <= offset < 1 << 31 or length >= 1 << 32:
                raise WireError("bucket span out of range", where)
            if offset < 0 and side.spans:  # only the first span may go down (Prometheus's appender)
                raise WireError(f"bucket span {len(side.spans) + 1} has a negative offset {offset}", where)
            side.wanted += length
            if side.wanted > MAX_NATIVE_BUCKETS:
                raise WireError(f"native histogram has more than {MAX_NATIVE_BUCKETS} buckets", where)
            side.spans.append((offset, length))
        elif number in _DELTAS:
            side = sides[_DELTAS[number]]
            side.deltas += _packed_varints(data, wire, a, b, where)
            if len(side.deltas) > MAX_NATIVE_BUCKETS:
                raise WireError(f"native histogram has more than {MAX_NATIVE_BUCKETS} buckets", where)
        elif number in _COUNTS:
            side = sides[_COUNTS[number]]
            side.counts += _packed_doubles(data, wire, a, b, where)
            if len(side.counts) > MAX_NATIVE_BUCKETS:
                raise WireError(f"native histogram has more than {MAX_NATIVE_BUCKETS} buckets", where)


_SPAN: Final[dict[int, Field]] = {1: (VARINT, "span offset"), 2: (VARINT, "span length")}


def _packed_varints(data: bytes, wire: int, a: int, b: int, where: int) -> list[int]:
    """A repeated sint64, packed or not."""
    if wire == VARINT:
        return [zigzag(a)]
    expect(wire, LEN, "bucket deltas", where)
    found = []
    at = a
    while at < b:
        value, at = read_varint(data, at, b)
        found.append(zigzag(value))
    return found


def _packed_doubles(data: bytes, wire: int, a: int, b: int, where: int) -> list[float]:
    """A repeated double, packed or not."""
    if wire == I64:
        return [read_double(data, a)]
    expect(wire, LEN, "bucket counts", where)
    if (b - a) % 8:
        raise WireError("bucket counts: a packed double field of a length not a multiple of 8", where)
    return [read_double(data, at) for at in range(a, b, 8)]


def _buckets(side: _Side, floats: bool, at: int) -> tuple[Spans, tuple[float, ...]]:
    """A side's compact spans and absolute counts, checked against its spans."""
    if floats:
        counts: list[float] = side.counts
        if any(not count >= 0 for count in counts):
            raise WireError("native histogram: a bucket count is negative or NaN", at)
    else:
        counts = list(accumulate(side.deltas))
        if any(count < 0 for count in counts):
            raise WireError("native histogram: a bucket count is negative", at)
    if len(counts) != side.wanted:
        raise WireError(f"native histogram: spans need {side.wanted} buckets, have {len(counts)}", at)
    return compact(indexed(tuple(side.spans), counts))


def _native_exemplar(data: bytes, values: list[tuple[int, int]], exemplar: ExemplarReader) -> Exemplar | None:
    for a, b in values:
        for number, wire, c, d, where in fields(data, a, b):
            if number == 16:
                expect(wire, LEN, "exemplars", where)
                first = exemplar(c, d)
                if first.timestamp_ms is not None:
                    return first
    for _, _, found, _ in buckets(data, values, exemplar):
        if found is not None and found.timestamp_ms is not None:
            return found
    return None
