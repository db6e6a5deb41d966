"""Native histograms' buckets: compact spans, and resolution reduced as Prometheus reduces it.

Pure functions on ``model.NativeHistogram`` values. ``fit`` applies a job's
``native_histogram_min_bucket_factor`` (at most the schema it allows, in one step: Prometheus's
``maxSchemaAppender``) then its ``native_histogram_bucket_limit`` (the schema lowered by one
until the buckets fit: ``bucketLimitAppender``, 2.49 and later), in that order
(``appenderWithLimits``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Final

from .model import NativeHistogram, Spans

MIN_SCHEMA: Final = -4
MAX_SCHEMA: Final = 8
"""The exponential schemas (Prometheus's ``ExponentialSchemaMin``/``Max``)."""
DEFAULT_BUCKET_FACTOR: Final = 1.00271
"""What a factor of 1 or less stands for (Prometheus's ``pickSchema``): schema 8."""


def indexed(spans: Spans, counts: Iterable[float]) -> Iterator[tuple[int, float]]:
    """Each bucket's index and count, from spans and the counts in span order."""
    found = iter(counts)
    index = 0
    for offset, length in spans:
        index += offset
        for _ in range(length):
            yield index, next(found)
            index += 1


def compact(buckets: Iterable[tuple[int, float]]) -> tuple[Spans, tuple[float, ...]]:
    """Spans and counts of ``buckets`` (ascending indexes), empty ones left out and neighbours in
    one span: Prometheus's ``Compact(0)``."""
    spans: list[list[int]] = []
    counts: list[float] = []
    last = 0
    for index, count in buckets:
        if not count:
            continue
        if spans and index == last + 1:
            spans[-1][1] += 1
        else:
            spans.append([index - last - 1 if spans else index, 1])
        counts.append(count)
        last = index
    return tuple((offset, length) for offset, length in spans), tuple(counts)


def reduce_resolution(histogram: NativeHistogram, schema: int) -> NativeHistogram:
    """``histogram`` at the lower ``schema``: each bucket merged into the one covering it
    (index ``((i - 1) >> (from - to)) + 1``), counts added."""
    shift = histogram.schema - schema
    positive = compact(_merged(indexed(histogram.positive_spans, histogram.positive), shift))
    negative = compact(_merged(indexed(histogram.negative_spans, histogram.negative), shift))
    return replace(
        histogram,
        schema=schema,
        positive_spans=positive[0],
        positive=positive[1],
        negative_spans=negative[0],
        negative=negative[1],
    )


def _merged(buckets: Iterable[tuple[int, float]], shift: int) -> Iterator[tuple[int, float]]:
    current: int | None = None
    total: float = 0
    for index, count in buckets:
        target = ((index - 1) >> shift) + 1
        if target != current:
            if current is not None:
                yield current, total
            current, total = target, 0
        total += count
    if current is not None:
        yield current, total


def max_schema(factor: float) -> int:
    """The highest schema whose buckets grow by at least ``factor``: floor(-log2(log2(factor))),
    within the exponential schemas (Prometheus's ``pickSchema``).

    >>> [max_schema(f) for f in (0, 1.1, 1.09, 2, 65536, 1.002)]
    [8, 2, 3, 0, -4, 8]
    """
    factor = factor if factor > 1 else DEFAULT_BUCKET_FACTOR
    return max(MIN_SCHEMA, min(MAX_SCHEMA, math.floor(-math.log2(math.log2(factor)))))


def fit(histogram: NativeHistogram, bucket_limit: int, factor: float) -> NativeHistogram | None:
    """``histogram`` within a job's minimum bucket factor and bucket limit (0: none), or
    ``None`` when the buckets do not fit even at the lowest schema."""
    highest = max_schema(factor)
    if histogram.schema > highest:
        histogram = reduce_resolution(histogram, highest)
    while bucket_limit and histogram.buckets > bucket_limit:
        if histogram.schema <= MIN_SCHEMA:
            return None
        histogram = reduce_resolution(histogram, histogram.schema - 1)
    return histogram
