"""Prometheus histograms as CloudWatch distributions: pure, no I/O.

A histogram series exposes cumulative ``le`` buckets. Over one scrape interval the increase of
each cumulative bucket, un-accumulated, is how many observations fell in that bucket; CloudWatch
gets one representative value per non-empty bucket (``Values``) and those counts (``Counts``),
so its percentiles, ``SampleCount``, ``Sum`` and ``Average`` work on one metric.

Representative value of the bucket ``(lower, upper]``:

* a finite bucket: its midpoint ``(lower + upper) / 2``;
* the first bucket: its lower bound is 0 when its upper bound is positive (Prometheus's own
  assumption in ``histogram_quantile``), so the value is ``upper / 2``; when its upper bound is
  zero or negative, the upper bound itself;
* the ``+Inf`` bucket: the highest finite bound (the least its observations can be), never an
  invented value; a histogram with no finite bucket uses the interval's mean (sum / count).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from .limits import MAX_ABS_VALUE, MAX_VALUES_PER_DATUM, MIN_ABS_VALUE


def parse_bound(le: str) -> float | None:
    """The bucket bound an ``le`` label holds, or ``None`` when it is not a number."""
    try:
        bound = float(le)
    except ValueError:
        return None
    return None if math.isnan(bound) else bound


def representatives(bounds: Sequence[float], mean: float | None = None) -> list[float | None]:
    """One representative value per bucket (``bounds`` sorted, ``+Inf`` last if present)."""
    out: list[float | None] = []
    previous: float | None = None
    for upper in bounds:
        if math.isinf(upper):
            out.append(previous if previous is not None else mean)
        elif previous is None:
            out.append(upper / 2 if upper > 0 else upper)
        else:
            out.append((previous + upper) / 2)
        if not math.isinf(upper):
            previous = upper
    return out


def distribution(
    bounds: Sequence[float], cumulative: Sequence[float], mean: float | None = None
) -> tuple[list[float], list[float]]:
    """``Values`` and ``Counts`` from per-interval cumulative bucket increases.

    Empty buckets are left out; a bucket whose cumulative increase is below its predecessor's
    (an inconsistent exposition) counts as empty rather than negative.

    >>> distribution([0.1, 1.0, math.inf], [2.0, 5.0, 6.0])
    ([0.05, 0.55, 1.0], [2.0, 3.0, 1.0])
    """
    values: list[float] = []
    counts: list[float] = []
    below = 0.0
    for value, total in zip(representatives(bounds, mean), cumulative, strict=True):
        count = total - below
        below = max(below, total)
        if count > 0 and value is not None and math.isfinite(value):
            values.append(value)
            counts.append(count)
    return values, counts


def within_range(
    values: Sequence[float], counts: Sequence[float]
) -> tuple[list[float], list[float], bool] | None:
    """The distribution as CloudWatch accepts it (``Values`` and ``Counts`` members within
    2^-360..2^360 in magnitude, or 0), and whether a value had to change.

    A value beyond ±2^360 is clamped to it, a non-zero value smaller than 2^-360 becomes 0, and
    values made equal so are merged (their counts added); a count below 2^-360 is an empty
    bucket. ``None`` when a count is beyond 2^360: no truthful distribution can be sent.

    >>> within_range([1.0, 2.0**400, 2.0**500], [1.0, 2.0, 3.0])
    ([1.0, 2.3485425827738332e+108], [1.0, 5.0], True)
    """
    merged: dict[float, float] = {}
    changed = False
    for value, count in zip(values, counts, strict=True):
        if count < MIN_ABS_VALUE:
            continue
        fitted = max(-MAX_ABS_VALUE, min(MAX_ABS_VALUE, value))
        if -MIN_ABS_VALUE < fitted < MIN_ABS_VALUE:
            fitted = 0.0
        changed = changed or fitted != value
        merged[fitted] = merged.get(fitted, 0.0) + count
    if any(count > MAX_ABS_VALUE for count in merged.values()):
        return None
    return list(merged), list(merged.values()), changed


def chunks(
    values: Sequence[float], counts: Sequence[float], size: int = MAX_VALUES_PER_DATUM
) -> Iterator[tuple[list[float], list[float]]]:
    """Split into datums of at most ``size`` values (CloudWatch aggregates them as one metric)."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size]), list(counts[start : start + size])
