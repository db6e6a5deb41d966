"""Points into requests: encoded, grouped by resource, scope and metric, and packed within a
receiver's limits on data points and uncompressed bytes per request (pure).

A request repeats the resource, scope and metric a point belongs to, so packing counts what each
message it opens adds (``encode.WRAPPER_BYTES`` for its tag and length, plus its own fields):
the encoded request is never larger than the count. A point too large for a request on its own
is dropped (``point_too_large``).
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...model import Labels
from . import encode
from .series import MetricDef, Scope
from .translate import Point

GZIP_LEVEL = 6
"""zlib's default trade-off; level 9 costs about twice the CPU for a few percent."""


def _exemplars(point: Point, tag: int) -> bytes:
    out = b""
    for found, time_ms in point.exemplars:
        pairs = []
        span = trace = b""
        for key, value in found.labels:
            decoded = (
                _trace_id(value, 16 if key == "span_id" else 32) if key in ("span_id", "trace_id") else b""
            )
            if decoded and key == "span_id":
                span = decoded
            elif decoded:
                trace = decoded
            else:
                pairs.append((key, value))
        stamp = found.timestamp_ms if found.timestamp_ms is not None else time_ms
        out += encode.exemplar(tag, pairs, max(0, stamp) * 1_000_000, found.value, span=span, trace=trace)
    return out


def _trace_id(text: str, digits: int) -> bytes:
    """A trace or span id in hex (16 or 8 bytes, not all zero), else ``b""`` (kept as a label)."""
    if len(text) != digits:
        return b""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return b""
    return raw if any(raw) else b""


def encode_point(point: Point) -> bytes:
    """The point as its metric's ``data_points`` entry."""
    stream = point.stream
    kind = stream.kind
    head = stream.attributes + encode.times(point.start_ns, point.time_ns)
    if kind == encode.HISTOGRAM:
        return encode.histogram_point(
            head,
            point.whole,
            point.total,
            bounds=[bound for bound, _ in point.buckets],
            counts=point.counts,
            exemplars=_exemplars(point, encode.HISTOGRAM_EXEMPLARS),
        )
    if kind == encode.SUMMARY:
        return encode.summary_point(head, point.whole, point.total or 0.0, point.buckets)
    exemplars = _exemplars(point, encode.NUMBER_EXEMPLARS) if point.exemplars else b""
    assert point.value is not None
    return encode.number_point(stream.attributes, point.start_ns, point.time_ns, point.value, exemplars)


MetricEntry = tuple[MetricDef, list[bytes]]
ScopeEntry = tuple[Scope, list[MetricEntry]]
ResourceEntry = tuple[bytes, list[ScopeEntry]]


@dataclass
class Batch:
    """One request's content: resources, their scopes, metrics and encoded points."""

    resources: list[ResourceEntry] = field(default_factory=list)
    samples: int = 0
    points: int = 0
    size: int = 0
    """Upper bound of the encoded request's size."""

    def encoded(self) -> bytes:
        """The uncompressed ``ExportMetricsServiceRequest``."""
        out = []
        for resource, scopes in self.resources:
            scope_messages = [
                encode.scope_metrics(
                    scope.message,
                    scope.schema_url,
                    [encode.metric(m.header, m.kind, m.trailer, points) for m, points in metrics],
                )
                for scope, metrics in scopes
            ]
            out.append(encode.resource_metrics(resource, scope_messages))
        return b"".join(out)

    def body(self, compression: str) -> bytes:
        payload = self.encoded()
        return gzip.compress(payload, GZIP_LEVEL, mtime=0) if compression == "gzip" else payload


@dataclass
class Packer:
    """Fills batches in order, opening a new one when a point would pass either limit."""

    max_points: int
    max_bytes: int
    batches: list[Batch] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    _resource_cache: dict[Labels, bytes] = field(default_factory=dict)
    _open: tuple[object, object, object] | None = None

    def add(self, point: Point, encoded: bytes) -> None:
        stream, metric = point.stream, point.stream.metric
        assert metric is not None
        resource = self._resource(point.resource_attributes)
        opens = self._opening(resource, stream.scope, metric)
        if opens + len(encoded) > self.max_bytes:
            self.dropped["point_too_large"] += point.samples
            return
        batch = self.batches[-1] if self.batches else None
        if (
            batch is None
            or batch.points >= self.max_points
            or batch.size + opens + len(encoded) > self.max_bytes
        ):
            batch = Batch()
            self.batches.append(batch)
            self._open = None
            opens = self._opening(resource, stream.scope, metric)
        self._place(batch, resource, stream.scope, metric, encoded)
        batch.size += opens + len(encoded)
        batch.points += 1
        batch.samples += point.samples

    def _resource(self, pairs: Labels) -> bytes:
        found = self._resource_cache.get(pairs)
        if found is None:
            found = self._resource_cache[pairs] = encode.attributes(encode.RESOURCE_ATTRIBUTES, pairs)
        return found

    def _opening(self, resource: bytes, scope: Scope, metric: MetricDef) -> int:
        """What the messages this point would open in the current batch add to it."""
        open_resource, open_scope, open_metric = self._open or (None, None, None)
        size = 0
        if open_resource is not resource:
            size += 2 * encode.WRAPPER_BYTES + len(resource)  # ResourceMetrics and its Resource
        if open_resource is not resource or open_scope is not scope:
            url = len(scope.schema_url.encode())
            size += 2 * encode.WRAPPER_BYTES + len(scope.message) + (encode.WRAPPER_BYTES + url if url else 0)
        if size or open_metric is not metric:
            size += 2 * encode.WRAPPER_BYTES + len(metric.header) + len(metric.trailer)
        return size

    def _place(self, batch: Batch, resource: bytes, scope: Scope, metric: MetricDef, encoded: bytes) -> None:
        open_resource, open_scope, open_metric = self._open or (None, None, None)
        if open_resource is not resource:
            batch.resources.append((resource, []))
        scopes = batch.resources[-1][1]
        if open_resource is not resource or open_scope is not scope:
            scopes.append((scope, []))
        metrics = scopes[-1][1]
        if open_resource is not resource or open_scope is not scope or open_metric is not metric:
            metrics.append((metric, []))
        metrics[-1][1].append(encoded)
        self._open = (resource, scope, metric)


def pack(points: Sequence[Point], max_points: int, max_bytes: int) -> tuple[list[Batch], Counter[str]]:
    """``points`` encoded and packed, grouped by resource, then scope, then metric (in the order
    each first appears); what could not be packed, by reason."""
    packer = Packer(max_points, max_bytes)
    for point in grouped(points):
        packer.add(point, encode_point(point))
    return packer.batches, packer.dropped


def grouped(points: Sequence[Point]) -> list[Point]:
    """``points`` with each after the earlier ones of its resource, scope and metric."""
    first: dict[object, int] = {}
    keys: list[tuple[int, int, int, int]] = []
    for index, point in enumerate(points):
        stream = point.stream
        resource = first.setdefault(stream.resource, index)
        scope = first.setdefault((stream.resource, stream.scope), index)
        metric = first.setdefault((stream.resource, stream.scope, stream.metric), index)
        keys.append((resource, scope, metric, index))
    return [points[key[3]] for key in sorted(keys)]
