"""OTLP metrics in protobuf's wire format, written and read by hand (no protobuf library at run time).

The writer builds ``ExportMetricsServiceRequest`` bodies from parts a sink keeps warm: a
series' encoded attributes are made once, so a warm cycle appends each point's fixed-size
fields. The reader walks the few messages a sink must understand from bytes it did not make
(a receiver's ``ExportMetricsServiceResponse`` and ``google.rpc.Status``): it is linear in its
input, checks every length against what is left, and raises ``ValueError`` on anything
malformed. The tests decode every body written here with the official ``opentelemetry-proto``
package. Field numbers are those of opentelemetry-proto's ``metrics/v1/metrics.proto``,
``common/v1/common.proto``, ``resource/v1/resource.proto`` and
``collector/metrics/v1/metrics_service.proto``.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Iterator, Sequence

from ...protowire import field, length, varint
from .exponential import Exponential, Side

# Tags: (field_number << 3) | wire_type; wire type 0 varint, 1 fixed 64-bit, 2 length-delimited.
REQUEST_RESOURCE_METRICS = 0x0A  # ExportMetricsServiceRequest.resource_metrics = 1
RESOURCE_METRICS_RESOURCE = 0x0A  # ResourceMetrics.resource = 1
RESOURCE_METRICS_SCOPE_METRICS = 0x12  # ResourceMetrics.scope_metrics = 2
RESOURCE_ATTRIBUTES = 0x0A  # Resource.attributes = 1
SCOPE_METRICS_SCOPE = 0x0A  # ScopeMetrics.scope = 1
SCOPE_METRICS_METRICS = 0x12  # ScopeMetrics.metrics = 2
SCOPE_METRICS_SCHEMA_URL = 0x1A  # ScopeMetrics.schema_url = 3
SCOPE_NAME = 0x0A  # InstrumentationScope.name = 1
SCOPE_VERSION = 0x12  # InstrumentationScope.version = 2
SCOPE_ATTRIBUTES = 0x1A  # InstrumentationScope.attributes = 3
METRIC_NAME = 0x0A  # Metric.name = 1
METRIC_DESCRIPTION = 0x12  # Metric.description = 2
METRIC_UNIT = 0x1A  # Metric.unit = 3
METRIC_METADATA = 0x62  # Metric.metadata = 12
GAUGE = 0x2A  # Metric.gauge = 5
SUM = 0x3A  # Metric.sum = 7
HISTOGRAM = 0x4A  # Metric.histogram = 9
EXPONENTIAL = 0x52  # Metric.exponential_histogram = 10
SUMMARY = 0x5A  # Metric.summary = 11
DATA_POINTS = 0x0A  # Gauge/Sum/Histogram/Summary.data_points = 1
TEMPORALITY = 0x10  # Sum/Histogram.aggregation_temporality = 2
MONOTONIC = 0x18  # Sum.is_monotonic = 3
KEY = 0x0A  # KeyValue.key = 1
VALUE = 0x12  # KeyValue.value = 2
STRING_VALUE = 0x0A  # AnyValue.string_value = 1
NUMBER_ATTRIBUTES = 0x3A  # NumberDataPoint.attributes = 7
HISTOGRAM_ATTRIBUTES = 0x4A  # HistogramDataPoint.attributes = 9
SUMMARY_ATTRIBUTES = 0x3A  # SummaryDataPoint.attributes = 7
EXPONENTIAL_ATTRIBUTES = 0x0A  # ExponentialHistogramDataPoint.attributes = 1
NUMBER_FLAGS = 0x40  # NumberDataPoint.flags = 8 (and SummaryDataPoint.flags = 8)
HISTOGRAM_FLAGS = 0x50  # HistogramDataPoint.flags = 10 (and ExponentialHistogramDataPoint.flags = 10)
SCALE = 0x30  # ExponentialHistogramDataPoint.scale = 6 (sint32)
ZERO_COUNT = 0x39  # ExponentialHistogramDataPoint.zero_count = 7 (fixed64)
POSITIVE = 0x42  # ExponentialHistogramDataPoint.positive = 8
NEGATIVE = 0x4A  # ExponentialHistogramDataPoint.negative = 9
EXPONENTIAL_EXEMPLARS = 0x5A  # ExponentialHistogramDataPoint.exemplars = 11
ZERO_THRESHOLD = 0x71  # ExponentialHistogramDataPoint.zero_threshold = 14 (double)
BUCKETS_OFFSET = 0x08  # ExponentialHistogramDataPoint.Buckets.offset = 1 (sint32)
BUCKETS_COUNTS = 0x12  # ExponentialHistogramDataPoint.Buckets.bucket_counts = 2 (packed uint64)
START_TIME = 0x11  # *DataPoint.start_time_unix_nano = 2 (fixed64)
TIME = 0x19  # *DataPoint.time_unix_nano = 3 (fixed64)
AS_DOUBLE = 0x21  # NumberDataPoint.as_double = 4
NUMBER_EXEMPLARS = 0x2A  # NumberDataPoint.exemplars = 5
COUNT = 0x21  # HistogramDataPoint/SummaryDataPoint.count = 4 (fixed64)
POINT_SUM = 0x29  # HistogramDataPoint/SummaryDataPoint.sum = 5 (double)
BUCKET_COUNTS = 0x32  # HistogramDataPoint.bucket_counts = 6 (packed fixed64)
EXPLICIT_BOUNDS = 0x3A  # HistogramDataPoint.explicit_bounds = 7 (packed double)
HISTOGRAM_EXEMPLARS = 0x42  # HistogramDataPoint.exemplars = 8
QUANTILE_VALUES = 0x32  # SummaryDataPoint.quantile_values = 6
QUANTILE = 0x09  # ValueAtQuantile.quantile = 1 (double)
QUANTILE_VALUE = 0x11  # ValueAtQuantile.value = 2 (double)
EXEMPLAR_ATTRIBUTES = 0x3A  # Exemplar.filtered_attributes = 7
EXEMPLAR_TIME = 0x11  # Exemplar.time_unix_nano = 2 (fixed64)
EXEMPLAR_VALUE = 0x19  # Exemplar.as_double = 3
EXEMPLAR_SPAN_ID = 0x22  # Exemplar.span_id = 4 (bytes)
EXEMPLAR_TRACE_ID = 0x2A  # Exemplar.trace_id = 5 (bytes)

CUMULATIVE = 2
"""AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE."""
NO_RECORDED_VALUE = 1
"""DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: the point says the stream ended (a
Prometheus staleness marker) and carries no value."""

DATA_FIELDS = frozenset({5, 7, 9, 10, 11})
"""Metric's ``data`` oneof: gauge, sum, histogram, exponential_histogram, summary."""

_FIXED64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_TIMED_DOUBLE = struct.Struct("<BQBQBd")  # start, time, as_double
_UNSTARTED_DOUBLE = struct.Struct("<BQBd")  # time, as_double
_TIMES = struct.Struct("<BQBQ")  # start, time
_TIME = struct.Struct("<BQ")


def text(tag: int, value: str) -> bytes:
    """A string field (UTF-8; ``UnicodeEncodeError`` for a lone surrogate, which protobuf refuses)."""
    return field(tag, value.encode())


@functools.lru_cache(maxsize=65536)
def key_value(key: str, value: str) -> bytes:
    """A ``KeyValue`` message with a string value (label pairs repeat across series: cached)."""
    return text(KEY, key) + field(VALUE, text(STRING_VALUE, value))


def attributes(tag: int, pairs: Iterable[tuple[str, str]]) -> bytes:
    """Repeated ``KeyValue`` entries under ``tag``."""
    return b"".join([field(tag, key_value(k, v)) for k, v in pairs])


def fixed64(value: int) -> bytes:
    return _FIXED64.pack(value)


def number_point(attrs: bytes, start_ns: int | None, time_ns: int, value: float, exemplars: bytes) -> bytes:
    """One ``NumberDataPoint`` under ``DATA_POINTS`` (``attrs``: its encoded attributes)."""
    if start_ns is None:
        body = attrs + _UNSTARTED_DOUBLE.pack(TIME, time_ns, AS_DOUBLE, value) + exemplars
    else:
        body = attrs + _TIMED_DOUBLE.pack(START_TIME, start_ns, TIME, time_ns, AS_DOUBLE, value) + exemplars
    return bytes((DATA_POINTS,)) + length(len(body)) + body


def marker_point(attrs: bytes, start_ns: int | None, time_ns: int, flags_tag: int) -> bytes:
    """A point of any kind that says its stream ended: attributes, times and the
    ``NO_RECORDED_VALUE`` flag under ``flags_tag``, no value (counts and sum left at zero)."""
    return field(DATA_POINTS, attrs + times(start_ns, time_ns) + bytes((flags_tag, NO_RECORDED_VALUE)))


def times(start_ns: int | None, time_ns: int) -> bytes:
    return _TIME.pack(TIME, time_ns) if start_ns is None else _TIMES.pack(START_TIME, start_ns, TIME, time_ns)


def histogram_point(
    head: bytes,
    count: int,
    total: float | None,
    *,
    bounds: Sequence[float],
    counts: Sequence[int],
    exemplars: bytes,
    stale: bool = False,
) -> bytes:
    """One ``HistogramDataPoint`` (explicit bounds, de-cumulated bucket counts); ``head``: its
    attributes and ``times``. A ``stale`` one has zero counts and the ``NO_RECORDED_VALUE`` flag
    (its bounds kept, as the Collector's receiver sends a stale histogram)."""
    body = head + bytes((COUNT,)) + fixed64(count)
    if total is not None:
        body += bytes((POINT_SUM,)) + _DOUBLE.pack(total)
    body += field(BUCKET_COUNTS, struct.pack(f"<{len(counts)}Q", *counts))
    if bounds:
        body += field(EXPLICIT_BOUNDS, struct.pack(f"<{len(bounds)}d", *bounds))
    if stale:
        body += bytes((HISTOGRAM_FLAGS, NO_RECORDED_VALUE))
    return field(DATA_POINTS, body + exemplars)


def summary_point(
    head: bytes, count: int, total: float, quantiles: Sequence[tuple[float, float]], *, stale: bool = False
) -> bytes:
    """One ``SummaryDataPoint``; ``head``: its attributes and ``times``. A ``stale`` one carries
    the ``NO_RECORDED_VALUE`` flag (its quantiles kept with value 0, its count and sum 0)."""
    body = head + bytes((COUNT,)) + fixed64(count) + bytes((POINT_SUM,)) + _DOUBLE.pack(total)
    for quantile, value in quantiles:
        entry = bytes((QUANTILE,)) + _DOUBLE.pack(quantile) + bytes((QUANTILE_VALUE,)) + _DOUBLE.pack(value)
        body += field(QUANTILE_VALUES, entry)
    if stale:
        body += bytes((NUMBER_FLAGS, NO_RECORDED_VALUE))
    return field(DATA_POINTS, body)


def exponential_point(head: bytes, found: Exponential, exemplars: bytes) -> bytes:
    """One ``ExponentialHistogramDataPoint``; ``head``: its attributes and ``times``."""
    body = head + bytes((COUNT,)) + fixed64(found.count) + bytes((POINT_SUM,)) + _DOUBLE.pack(found.sum)
    if found.scale:
        body += bytes((SCALE,)) + varint((found.scale << 1) ^ (found.scale >> 63))  # zigzag
    body += bytes((ZERO_COUNT,)) + fixed64(found.zero_count)
    body += _buckets(POSITIVE, found.positive) + _buckets(NEGATIVE, found.negative)
    if found.zero_threshold:
        body += bytes((ZERO_THRESHOLD,)) + _DOUBLE.pack(found.zero_threshold)
    return field(DATA_POINTS, body + exemplars)


def _buckets(tag: int, side: Side) -> bytes:
    if not side.counts:
        return b""
    offset = varint((side.offset << 1) ^ (side.offset >> 63))  # zigzag
    counts = b"".join(varint(count) for count in side.counts)
    return field(tag, bytes((BUCKETS_OFFSET,)) + offset + field(BUCKETS_COUNTS, counts))


def exemplar(
    tag: int, pairs: Sequence[tuple[str, str]], time_ns: int, value: float, *, span: bytes, trace: bytes
) -> bytes:
    """One ``Exemplar`` under ``tag`` (``NUMBER_EXEMPLARS`` or ``HISTOGRAM_EXEMPLARS``)."""
    body = attributes(EXEMPLAR_ATTRIBUTES, pairs) + bytes((EXEMPLAR_TIME,)) + fixed64(time_ns)
    body += bytes((EXEMPLAR_VALUE,)) + _DOUBLE.pack(value)
    if span:
        body += field(EXEMPLAR_SPAN_ID, span)
    if trace:
        body += field(EXEMPLAR_TRACE_ID, trace)
    return field(tag, body)


def metric_header(name: str, description: str, unit: str, prometheus_type: str) -> bytes:
    """A ``Metric``'s fields other than its data: name, description, unit and the
    ``prometheus.type`` metadata the compatibility specification asks for."""
    out = text(METRIC_NAME, name)
    if description:
        out += text(METRIC_DESCRIPTION, description)
    if unit:
        out += text(METRIC_UNIT, unit)
    return out + field(METRIC_METADATA, key_value("prometheus.type", prometheus_type))


def data_trailer(kind: int, monotonic: bool) -> bytes:
    """What follows a metric's data points inside its data message (temporality, monotonicity)."""
    if kind == SUM:
        return bytes((TEMPORALITY, CUMULATIVE, MONOTONIC, 1 if monotonic else 0))
    if kind in (HISTOGRAM, EXPONENTIAL):
        return bytes((TEMPORALITY, CUMULATIVE))
    return b""


def metric(header: bytes, kind: int, trailer: bytes, points: Sequence[bytes]) -> bytes:
    """One ``Metric`` under ``ScopeMetrics.metrics``."""
    return field(SCOPE_METRICS_METRICS, header + field(kind, b"".join(points) + trailer))


def scope(name: str, version: str, pairs: Sequence[tuple[str, str]]) -> bytes:
    """An ``InstrumentationScope`` message."""
    out = text(SCOPE_NAME, name) if name else b""
    if version:
        out += text(SCOPE_VERSION, version)
    return out + attributes(SCOPE_ATTRIBUTES, pairs)


def scope_metrics(scope_message: bytes, schema_url: str, metrics: Sequence[bytes]) -> bytes:
    """One ``ScopeMetrics`` under ``ResourceMetrics.scope_metrics``."""
    tail = text(SCOPE_METRICS_SCHEMA_URL, schema_url) if schema_url else b""
    return field(
        RESOURCE_METRICS_SCOPE_METRICS, field(SCOPE_METRICS_SCOPE, scope_message) + b"".join(metrics) + tail
    )


def resource_metrics(resource_attributes: bytes, scopes: Sequence[bytes]) -> bytes:
    """One ``ResourceMetrics`` under ``ExportMetricsServiceRequest.resource_metrics``."""
    return field(
        REQUEST_RESOURCE_METRICS, field(RESOURCE_METRICS_RESOURCE, resource_attributes) + b"".join(scopes)
    )


WRAPPER_BYTES = 6
"""At most what one enclosing message adds around its content: a tag and a length of up to five
bytes (any length below 2**35). Packing counts it for every message it opens, so the real
request is never larger than the count."""


# -- reading ---------------------------------------------------------------------------------

Field = tuple[int, int, int | bytes]
"""(field number, wire type, value): an int for varint and fixed fields, bytes for the others."""


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for index in range(pos, min(pos + 10, len(buf))):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    raise ValueError("truncated or overlong varint")


def fields(buf: bytes) -> Iterator[Field]:
    """The fields of one protobuf message, in order; ``ValueError`` when malformed."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        value: int | bytes
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(buf):
                raise ValueError("truncated fixed-size field")
            value, pos = int.from_bytes(buf[pos : pos + size], "little"), pos + size
        elif wire == 2:
            size, pos = _read_varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("length past the end of the message")
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _submessages(buf: bytes, number: int) -> Iterator[bytes]:
    for found, wire, value in fields(buf):
        if found == number and wire == 2 and isinstance(value, bytes):
            yield value


def _string(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def partial_success(body: bytes) -> tuple[int, str]:
    """``ExportMetricsServiceResponse.partial_success``: (rejected data points, error message);
    (0, "") when the field is absent (full success)."""
    rejected, message = 0, ""
    for partial in _submessages(body, 1):
        for number, wire, value in fields(partial):
            if number == 1 and wire == 0 and isinstance(value, int):
                rejected = value - 2**64 if value >= 2**63 else value  # int64
            elif number == 2 and wire == 2 and isinstance(value, bytes):
                message = _string(value)
    return max(0, rejected), message


def status_message(body: bytes) -> str:
    """``google.rpc.Status.message`` (field 2) of an error answer ("" when absent)."""
    for value in _submessages(body, 2):
        return _string(value)
    return ""


def count_points(body: bytes) -> int:
    """The data points of an uncompressed ``ExportMetricsServiceRequest`` (one this module wrote)."""
    total = 0
    for resource in _submessages(body, 1):
        for scope_message in _submessages(resource, 2):
            for metric_message in _submessages(scope_message, 2):
                for number, wire, data in fields(metric_message):
                    if number in DATA_FIELDS and wire == 2 and isinstance(data, bytes):
                        total += sum(1 for _ in _submessages(data, 1))
    return total
