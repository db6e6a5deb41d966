"""Protobuf expositions written by the tests from client_model's field numbers
(``io/prometheus/client/metrics.proto``), with no protobuf library: what a Go client serves.

>>> body = delimited(family("up", GAUGE, [metric(labels={"a": "1"}, gauge=1.0)]))
>>> body[:1] == bytes((len(body) - 1,))
True
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence

from scrape_push.protowire import varint

COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM = range(6)
CONTENT_TYPE = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def message(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


def string(number: int, text: str) -> bytes:
    return message(number, text.encode())


def double(number: int, value: float) -> bytes:
    return tag(number, 1) + struct.pack("<d", value)


def uint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value)


def sint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint((value << 1) ^ (value >> 63))


def packed_sint(number: int, values: Iterable[int]) -> bytes:
    return message(number, b"".join(varint((v << 1) ^ (v >> 63)) for v in values))


def packed_double(number: int, values: Iterable[float]) -> bytes:
    return message(number, b"".join(struct.pack("<d", v) for v in values))


def timestamp(number: int, ms: int) -> bytes:
    seconds, rest = divmod(ms, 1000)
    return message(number, uint(1, seconds) + uint(2, rest * 1_000_000))


def labels_of(labels: Mapping[str, str]) -> bytes:
    return b"".join(message(1, string(1, name) + string(2, value)) for name, value in labels.items())


def exemplar(labels: Mapping[str, str], value: float, ms: int | None = None) -> bytes:
    return labels_of(labels) + double(2, value) + (timestamp(3, ms) if ms is not None else b"")


def metric(
    labels: Mapping[str, str] | None = None,
    *,
    gauge: float | None = None,
    counter: float | None = None,
    untyped: float | None = None,
    counter_exemplar: bytes | None = None,
    summary: bytes | None = None,
    histogram: bytes | None = None,
    timestamp_ms: int | None = None,
    created_ms: int | None = None,
) -> bytes:
    out = labels_of(labels or {})
    if gauge is not None:
        out += message(2, double(1, gauge))
    if counter is not None:
        created = timestamp(3, created_ms) if created_ms is not None else b""
        out += message(
            3, double(1, counter) + (message(2, counter_exemplar) if counter_exemplar else b"") + created
        )
    if summary is not None:
        out += message(4, summary)
    if untyped is not None:
        out += message(5, double(1, untyped))
    if timestamp_ms is not None:
        out += tag(6, 0) + varint(timestamp_ms)
    if histogram is not None:
        out += message(7, histogram)
    return out


def summary(count: int, total: float, quantiles: Sequence[tuple[float, float]]) -> bytes:
    return (
        uint(1, count)
        + double(2, total)
        + b"".join(message(3, double(1, q) + double(2, v)) for q, v in quantiles)
    )


def histogram(
    count: int,
    total: float,
    buckets: Sequence[tuple[float, int]] = (),
    *,
    count_float: float | None = None,
    bucket_exemplars: Mapping[int, bytes] | None = None,
    native: bytes = b"",
) -> bytes:
    """A histogram's message: the classic part (``buckets`` as (upper bound, cumulative count)),
    then ``native``'s fields (``native_part``)."""
    out = uint(1, count) + double(2, total)
    for index, (bound, cumulative) in enumerate(buckets):
        found = (bucket_exemplars or {}).get(index)
        out += message(3, uint(1, cumulative) + double(2, bound) + (message(3, found) if found else b""))
    if count_float is not None:
        out += double(4, count_float)
    return out + native


def native_part(
    schema: int,
    zero_threshold: float,
    zero_count: float,
    positive: Sequence[tuple[int, Sequence[float]]] = (),
    negative: Sequence[tuple[int, Sequence[float]]] = (),
    *,
    floats: bool = False,
) -> bytes:
    """The native fields of a histogram. ``positive``/``negative``: spans as (offset, absolute
    bucket counts); integer counts are written as deltas, float ones as counts."""
    out = sint(5, schema) + double(6, zero_threshold)
    out += double(8, zero_count) if floats else uint(7, int(zero_count))
    for spans, (span_field, delta_field, count_field) in ((negative, (9, 10, 11)), (positive, (12, 13, 14))):
        counts: list[float] = []
        for offset, bucket_counts in spans:
            out += message(span_field, sint(1, offset) + uint(2, len(bucket_counts)))
            counts += bucket_counts
        if not counts:
            continue
        if floats:
            out += packed_double(count_field, counts)
        else:
            deltas = [int(c) - int(p) for c, p in zip(counts, [0, *counts[:-1]], strict=True)]
            out += packed_sint(delta_field, deltas)
    return out


def family(name: str, kind: int, metrics: Iterable[bytes], help_: str = "", unit: str = "") -> bytes:
    out = string(1, name) + (string(2, help_) if help_ else b"") + uint(3, kind)
    out += b"".join(message(4, m) for m in metrics)
    return out + (string(5, unit) if unit else b"")


def delimited(*families: bytes) -> bytes:
    """The body: each family's length as a varint, then the family."""
    return b"".join(varint(len(f)) + f for f in families)
