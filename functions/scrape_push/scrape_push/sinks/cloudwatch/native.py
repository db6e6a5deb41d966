"""Native histograms as CloudWatch distributions: pure, no I/O.

A native histogram's buckets are exponential: bucket ``i`` of schema ``s`` covers
``(2**((i-1)/2**s), 2**(i/2**s)]`` (negated for negative buckets), and the zero bucket holds
what is within the zero threshold. Over one scrape interval the increase of each bucket's count
is how many observations fell in it; CloudWatch gets one representative value per non-empty
bucket (``Values``: its geometric midpoint ``2**((i-0.5)/2**s)``, 0 for the zero bucket) with
those counts (``Counts``), so percentiles work on one metric. Beyond ``MAX_VALUES_PER_DATUM``
values, neighbouring buckets are merged by lowering the schema (Prometheus's
``ReduceResolution``) until they fit.

The tracked point (``CumulativePoint``) holds the zero bucket, the negative then the positive
bucket counts, then ``_count`` and ``_sum``; its layout names the schema and bucket indexes, so
that a bucket that appears since the previous scrape counts from 0 rather than making the
layout differ. A gauge histogram is sent as it is (no increase: ``translate.py``).
"""

from __future__ import annotations

from ...histogram import MIN_SCHEMA, compact, indexed, reduce_resolution
from ...model import NativeHistogram, Sample
from .counters import CumulativePoint, Increase, Skip
from .limits import MAX_VALUES_PER_DATUM
from .outputs import Target, Tracked
from .rules import Settings
from .state import state_id


def native_tracked(sample: Sample, settings: Settings, target: Target) -> Tracked:
    """The native histogram ``sample`` as a tracked series."""
    h = sample.histogram
    assert h is not None
    negative = list(indexed(h.negative_spans, h.negative))
    positive = list(indexed(h.positive_spans, h.positive))
    values = (h.zero_count, *(c for _, c in negative), *(c for _, c in positive), h.count, h.sum)
    layout = f"{h.schema}|{h.zero_threshold!r}|{_indexes(negative)}|{_indexes(positive)}"
    name = sample.family.name
    return Tracked(
        "native",
        target,
        state_id(name + "#native", sample.labels),
        name,
        sample.labels,
        sample.family,
        settings,
        CumulativePoint(sample.timestamp_ms, values, None, layout),
        ref=sample.series,
    )


def _indexes(buckets: list[tuple[int, float]]) -> str:
    return ",".join(str(index) for index, _ in buckets)


def native_increase(previous: CumulativePoint | None, current: CumulativePoint) -> Increase | Skip:
    """Each bucket's increase since ``previous`` (a bucket new since then counts from 0), the
    ``_count``'s and the ``_sum``'s; from zero after a reset (a count went down, or a bucket
    went away); a change of schema or zero threshold sends nothing."""
    if previous is None:
        return Skip.FIRST_SIGHT
    schema, negative, positive = _layout(current.layout)
    before_schema, before_negative, before_positive = _layout(previous.layout)
    if schema != before_schema:
        return Skip.LAYOUT_CHANGED
    seconds = (current.ts_ms - previous.ts_ms) / 1000.0
    if seconds <= 0:
        return Skip.NOT_ADVANCED
    keys = [("z", 0), *(("n", i) for i in negative), *(("p", i) for i in positive)]
    before_keys = [("z", 0), *(("n", i) for i in before_negative), *(("p", i) for i in before_positive)]
    before = dict(zip(before_keys, previous.values, strict=False))
    now = dict(zip(keys, current.values, strict=False))
    count, before_count = current.values[-2], previous.values[-2]
    reset = count < before_count or any(now.get(key, 0.0) < value for key, value in before.items())
    if reset:
        return Increase(current.values, seconds, True)
    increases = [now[key] - before.get(key, 0.0) for key in keys]
    return Increase(
        (*increases, count - before_count, current.values[-1] - previous.values[-1]), seconds, False
    )


def _layout(layout: str) -> tuple[str, list[int], list[int]]:
    schema, threshold, negative, positive = layout.split("|")
    return f"{schema}|{threshold}", _ints(negative), _ints(positive)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")] if text else []


def native_distribution(
    layout: str, values: tuple[float, ...]
) -> tuple[list[float], list[float], float, float]:
    """``Values`` and ``Counts`` of the bucket counts ``values`` (in the tracked point's order) at
    most ``MAX_VALUES_PER_DATUM`` of them where the schema allows, and the ``_count`` and
    ``_sum`` that follow them."""
    schema_text, negative, positive = _layout(layout)
    zero, rest = values[0], values[1:]
    negative_spans, negative_counts = compact(zip(negative, rest[: len(negative)], strict=True))
    positive_spans, positive_counts = compact(zip(positive, rest[len(negative) : -2], strict=True))
    h = NativeHistogram(
        count=values[-2],
        sum=values[-1],
        schema=int(schema_text.split("|")[0]),
        zero_count=zero,
        negative_spans=negative_spans,
        negative=negative_counts,
        positive_spans=positive_spans,
        positive=positive_counts,
    )
    while h.buckets + (1 if zero > 0 else 0) > MAX_VALUES_PER_DATUM and h.schema > MIN_SCHEMA:
        h = reduce_resolution(h, h.schema - 1)
    scale = 2.0**h.schema
    below = [(-_midpoint(i, scale), c) for i, c in indexed(h.negative_spans, h.negative)]
    above = [(_midpoint(i, scale), c) for i, c in indexed(h.positive_spans, h.positive)]
    pairs = [*reversed(below), *([(0.0, zero)] if zero > 0 else []), *above]
    return [v for v, _ in pairs], [c for _, c in pairs], h.count, h.sum


def _midpoint(index: int, scale: float) -> float:
    """The geometric midpoint of bucket ``index`` (within the float range, whatever the index)."""
    return float(2.0 ** max(-1074.0, min(1023.0, (index - 0.5) / scale)))
