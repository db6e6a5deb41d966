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
    for found, time_ms in point.exemplars or ():
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
    if point.stale and kind in (encode.GAUGE, encode.SUM, encode.EXPONENTIAL):
        flags = encode.NUMBER_FLAGS if kind != encode.EXPONENTIAL else encode.HISTOGRAM_FLAGS
        return encode.marker_point(stream.attributes, point.start_ns, point.time_ns, flags)
    if kind in (encode.GAUGE, encode.SUM):
        exemplars = _exemplars(point, encode.NUMBER_EXEMPLARS) if point.exemplars else b""
        assert point.value is not None
        return encode.number_point(
            stream.attributes, point.start_ns, point.time_ms * 1_000_000, point.value, exemplars
        )
    head = stream.attributes + encode.times(point.start_ns, point.time_ns)
    if kind == encode.HISTOGRAM:
        return encode.histogram_point(
            head,
            point.whole,
            point.total,
            bounds=[bound for bound, _ in point.ordered],
            counts=point.counts,
            exemplars=b"" if point.stale else _exemplars(point, encode.HISTOGRAM_EXEMPLARS),
            stale=point.stale,
        )
    if kind == encode.EXPONENTIAL:
        assert point.exponential is not None
        return encode.exponential_point(
            head, point.exponential, _exemplars(point, encode.EXPONENTIAL_EXEMPLARS)
        )
    return encode.summary_point(head, point.whole, point.total or 0.0, point.ordered, stale=point.stale)


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

    def opening(self, resource: bytes, scope: Scope, metric: MetricDef) -> int:
        """What opening ``metric`` of ``scope`` of ``resource`` adds here, at most."""
        last = self.resources[-1] if self.resources else None
        size = 2 * encode.WRAPPER_BYTES + len(metric.header) + len(metric.trailer)
        if last is None or last[0] is not resource or last[1][-1][0] is not scope:
            url = len(scope.schema_url.encode())
            size += 2 * encode.WRAPPER_BYTES + len(scope.message) + (encode.WRAPPER_BYTES + url if url else 0)
        if last is None or last[0] is not resource:
            size += 2 * encode.WRAPPER_BYTES + len(resource)
        return size

    def open(self, resource: bytes, scope: Scope, metric: MetricDef) -> list[bytes]:
        """A new entry for ``metric`` (in the last resource and scope when they are these)."""
        if not self.resources or self.resources[-1][0] is not resource:
            self.resources.append((resource, []))
        scopes = self.resources[-1][1]
        if not scopes or scopes[-1][0] is not scope:
            scopes.append((scope, []))
        points: list[bytes] = []
        scopes[-1][1].append((metric, points))
        return points


Tree = dict[bytes, dict[Scope, dict[MetricDef, list[Point]]]]


def pack(points: Sequence[Point], max_points: int, max_bytes: int) -> tuple[list[Batch], Counter[str]]:
    """``points`` encoded and packed in batches of at most ``max_points`` points and
    ``max_bytes`` bytes, grouped by resource, then scope, then metric (each in the order it first
    appears); what could not be packed, by reason."""
    batches: list[Batch] = [Batch()]
    dropped: Counter[str] = Counter()
    for resource, scopes in _tree(points).items():
        for scope, metrics in scopes.items():
            for metric, members in metrics.items():
                entry: list[bytes] | None = None
                for point in members:
                    encoded = encode_point(point)
                    batch = batches[-1]
                    if entry is None or batch.points >= max_points or batch.size + len(encoded) > max_bytes:
                        cost = batch.opening(resource, scope, metric)
                        if batch.points >= max_points or batch.size + cost + len(encoded) > max_bytes:
                            batch = Batch()
                            cost = batch.opening(resource, scope, metric)
                            if cost + len(encoded) > max_bytes:
                                dropped["point_too_large"] += point.samples
                                entry = None
                                continue
                            batches.append(batch)
                        entry = batch.open(resource, scope, metric)
                        batch.size += cost
                    entry.append(encoded)
                    batch.size += len(encoded)
                    batch.points += 1
                    batch.samples += point.samples
    return [b for b in batches if b.points], dropped


def _tree(points: Sequence[Point]) -> Tree:
    """``points`` by resource (its encoded attributes), scope and metric, in first-seen order."""
    tree: Tree = {}
    encoded: dict[Labels, bytes] = {}
    for point in points:
        pairs = point.resource_attributes
        resource = encoded.get(pairs)
        if resource is None:
            resource = encoded[pairs] = encode.attributes(encode.RESOURCE_ATTRIBUTES, pairs)
        metric = point.stream.metric
        assert metric is not None  # translation keeps no point without one
        tree.setdefault(resource, {}).setdefault(point.stream.scope, {}).setdefault(metric, []).append(point)
    return tree
