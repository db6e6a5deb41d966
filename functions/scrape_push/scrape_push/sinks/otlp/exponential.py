"""A native histogram as an OTLP exponential histogram's content (pure).

OpenTelemetry's compatibility specification ("Prometheus and OpenMetrics Compatibility", Native
Histograms) decides it: the schema is the scale; zero threshold, zero count and sum are copied;
each side's sparse spans become an offset and dense bucket counts (gaps as zeros), the offset one
less than the first index (Prometheus indexes a bucket by its upper bound, OTLP by its lower);
buckets outside the range of a double are dropped and not counted; the count is the zero count
plus the buckets kept. Float-count and gauge histograms, and schemas outside -4 to 8, are
dropped: the specification says so (the Collector's receiver truncates float counts instead,
which gives counts that need not add up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from ...histogram import MAX_SCHEMA, MIN_SCHEMA, compact, indexed, reduce_resolution
from ...model import NativeHistogram, Spans

MAX_DENSE_BUCKETS: Final = 4096
"""Dense bucket counts per side. Spans far apart would expand into that many zeros (a hostile
histogram's offsets can reach 2**31): past this width the scale is lowered one step at a time,
neighbouring buckets merged as Prometheus reduces a histogram's resolution, until the side fits.
At scale -4 the whole range of a double is 132 buckets, so every histogram fits. No receiver
documents a limit (CloudWatch's "How CloudWatch stores histogram metrics" says it may lower a
histogram's scale, and gives no number); 4096 keeps a
scale-8 histogram spanning 1 ms to 100 s (about 4,300 buckets) one step from its own resolution,
and at most about 40 KB of bucket counts per side in a request."""

MAX_COUNT: Final = 2**64 - 1
"""Counts are fixed64 / uint64 in OTLP."""

_MAX_EXPONENT: Final = 1024
_MIN_EXPONENT: Final = 1074
"""A positive double lies in (2**-1075, 2**1024): beyond, a bucket holds no double."""


@dataclass(frozen=True, slots=True)
class Side:
    """One side's OTLP buckets: the index of the first (by its lower bound) and dense counts."""

    offset: int = 0
    counts: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Exponential:
    """What an ``ExponentialHistogramDataPoint`` carries besides its attributes and times."""

    scale: int
    count: int
    sum: float
    zero_count: int
    zero_threshold: float
    positive: Side
    negative: Side


def index_range(schema: int) -> tuple[int, int]:
    """The lowest and highest Prometheus bucket index at ``schema`` whose bucket can hold a
    positive double: bucket ``i`` covers ``(2**((i-1)/2**schema), 2**(i/2**schema)]``.

    >>> index_range(0), index_range(8), index_range(-4)
    ((-1074, 1024), (-274944, 262144), (-67, 64))
    """
    if schema >= 0:
        return -(_MIN_EXPONENT << schema), _MAX_EXPONENT << schema
    return -(_MIN_EXPONENT >> -schema), _MAX_EXPONENT >> -schema


def convert(histogram: NativeHistogram) -> Exponential | str:
    """``histogram`` as an exponential histogram, or why it cannot be one (a drop reason)."""
    if histogram.gauge:
        return "gauge_histogram"
    if histogram.floats:
        return "float_histogram"
    if not MIN_SCHEMA <= histogram.schema <= MAX_SCHEMA:
        return "invalid_native_histogram"
    low, high = index_range(histogram.schema)
    positive = _within(histogram.positive_spans, histogram.positive, low, high)
    negative = _within(histogram.negative_spans, histogram.negative, low, high)
    if positive is None or negative is None:
        return "invalid_native_histogram"
    kept = replace(
        histogram,
        positive_spans=positive[0],
        positive=positive[1],
        negative_spans=negative[0],
        negative=negative[1],
    )
    while kept.schema > MIN_SCHEMA and max(_width(kept.positive_spans), _width(kept.negative_spans)) > (
        MAX_DENSE_BUCKETS
    ):
        kept = reduce_resolution(kept, kept.schema - 1)
    zero = int(kept.zero_count)
    count = zero + int(sum(kept.positive)) + int(sum(kept.negative))
    if min((zero, *kept.positive, *kept.negative)) < 0 or count > MAX_COUNT:
        return "invalid_native_histogram"
    return Exponential(
        scale=kept.schema,
        count=count,
        sum=kept.sum,
        zero_count=zero,
        zero_threshold=kept.zero_threshold,
        positive=_dense(kept.positive_spans, kept.positive),
        negative=_dense(kept.negative_spans, kept.negative),
    )


def _within(
    spans: Spans, counts: Iterable[float], low: int, high: int
) -> tuple[Spans, tuple[float, ...]] | None:
    """The buckets whose index is in ``[low, high]``, compact (overflow buckets left out);
    ``None`` when the indexes do not ascend (a span after the first with a negative offset,
    which Prometheus refuses too: ``ErrHistogramSpanNegativeOffset``)."""
    kept: list[tuple[int, float]] = []
    last: int | None = None
    for index, count in indexed(spans, counts):
        if last is not None and index <= last:
            return None
        last = index
        if low <= index <= high:
            kept.append((index, count))
    return compact(kept)


def _width(spans: Spans) -> int:
    """From the first bucket to the last, gaps included (what the dense layout holds)."""
    if not spans:
        return 0
    return sum(offset for offset, _ in spans[1:]) + sum(length for _, length in spans)


def _dense(spans: Spans, counts: tuple[float, ...]) -> Side:
    """Spans and counts as an OTLP side: zeros in the gaps (bounded by ``MAX_DENSE_BUCKETS``)."""
    if not spans:
        return Side()
    found = iter(counts)
    dense: list[int] = []
    for number, (offset, length) in enumerate(spans):
        if number:
            dense.extend([0] * offset)
        dense.extend(int(next(found)) for _ in range(length))
    return Side(spans[0][0] - 1, tuple(dense))
