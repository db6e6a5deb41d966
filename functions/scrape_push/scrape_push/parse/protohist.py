"""The ``Histogram`` message of the protobuf exposition: its classic part, as Prometheus reads
it (``protobufparse.go``). The native part (schema, zero bucket, spans) is skipped: Prometheus
3.x does so for a job without ``scrape_native_histograms``, and a native histogram then reads as
a classic one with its ``+Inf`` bucket only."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Final

from ..model import Exemplar
from ..protowire import I64, LEN, VARINT, Field, expect, fields, read_double, read_varint, scalars

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
