"""Pure translation of one cycle's samples into OTLP points (no I/O).

``Translator.translate`` gathers each stream's samples into one ``Point`` (a histogram's buckets,
count, sum and ``_created``; a counter and its ``_created``; a native histogram), then checks
each point as the compatibility specification and the receiver's limits require, dropping (and
counting, by reason) what cannot be sent. A cumulative point whose ``_created`` was not exposed
is left without a start time: the sink's state step (``starts``) settles it.

A staleness marker (``model.is_stale``: a value, or a native histogram's sum, with Prometheus's
StaleNaN bits) makes its stream's point a marker: sent with the ``NO_RECORDED_VALUE`` flag and no
value (``staleness: flag``), or left out and counted as ``stale_marker`` (``staleness: drop``).
A histogram or summary is a marker when its ``_count`` is one; a marker part beside a live count
is simply absent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ...model import Exemplar, Labels, NativeHistogram, Sample, is_stale
from ..base import STALE_MARKER
from . import encode
from .exponential import Exponential, convert
from .limits import CLOUDWATCH_MAX_LABELS, CLOUDWATCH_MAX_METADATA_BYTES
from .series import (
    BUCKET,
    COUNT,
    NATIVE,
    NUMBER,
    QUANTILE,
    SUM,
    TARGET_INFO,
    Resource,
    SeriesMap,
    Stream,
    label_bytes,
)

MAX_TIME_MS = (2**64 - 1) // 1_000_000
"""``time_unix_nano`` is a fixed64: later milliseconds do not fit."""
MAX_COUNT = 2**64 - 1
"""Histogram and summary counts are fixed64."""

Staleness = Literal["flag", "drop"]
"""What becomes of a staleness marker: a ``NO_RECORDED_VALUE`` point, or nothing (counted)."""


@dataclass(frozen=True)
class LabelLimits:
    """A receiver's limits on one data point's labels (CloudWatch's), or none."""

    max_labels: int
    max_bytes: int


CLOUDWATCH_LIMITS = LabelLimits(CLOUDWATCH_MAX_LABELS, CLOUDWATCH_MAX_METADATA_BYTES)


@dataclass(eq=False, slots=True)
class Point:
    """One stream's point in this cycle, gathered from the samples that make it."""

    stream: Stream
    time_ms: int
    samples: int = 0
    value: float | None = None
    count: float | None = None
    total: float | None = None
    created: float | None = None
    parts: dict[float, float] | None = None
    """Bucket bound -> cumulative count (a histogram), quantile -> value (a summary)."""
    exemplars: list[tuple[Exemplar, int]] | None = None
    """Each exemplar with the time of the sample that carried it."""
    start_ns: int | None = None
    ordered: list[tuple[float, float]] = field(default_factory=list)
    """The finite bounds with their cumulative counts, or the quantiles, sorted (``_finish``)."""
    counts: tuple[int, ...] = ()
    """A histogram's de-cumulated bucket counts (``_finish``)."""
    whole: int = 0
    """A histogram's or summary's count as an integer (``_finish``)."""
    resource_attributes: Labels = ()
    """The resource's attributes this cycle (``target_info`` included)."""
    native: NativeHistogram | None = None
    """A native histogram's value (``value`` holds the sample's, NaN)."""
    exponential: Exponential | None = None
    """The native histogram as OTLP has it (``_finish``)."""
    stale: bool = False
    """A staleness marker: sent with ``NO_RECORDED_VALUE`` and no value (``_finish``)."""

    @property
    def time_ns(self) -> int:
        return self.time_ms * 1_000_000

    @property
    def reading(self) -> float:
        """What a reset lowers: the value of a sum, the count of a histogram or summary (native
        ones included)."""
        if self.exponential is not None:
            return float(self.exponential.count)
        return self.value if self.value is not None else float(self.whole)

    def add(self, role: int, bound: float, sample: Sample, time_ms: int) -> bool:
        """Take one sample of this point; ``False`` when the point already has that part."""
        value = sample.value
        if role in (NUMBER, NATIVE):
            if self.value is not None:
                return False
            self.value, self.time_ms, self.native = value, time_ms, sample.histogram
        elif role in (BUCKET, QUANTILE):
            parts = self.parts if self.parts is not None else {}
            if bound in parts:
                return False
            parts[bound] = value
            self.parts = parts
        elif role == COUNT:
            if self.count is not None:
                return False
            self.count, self.time_ms = value, time_ms
        elif role == SUM:
            if self.total is not None:
                return False
            self.total = value
        else:  # CREATED
            if self.created is not None:
                return False
            self.created = value
        if sample.exemplar is not None:
            self.exemplars = [*(self.exemplars or ()), (sample.exemplar, time_ms)]
        self.samples += 1
        return True


@dataclass
class Translation:
    """A cycle's points (in the order their streams first appeared) and what was dropped."""

    points: list[Point] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    markers: int = 0
    """Samples sent within ``NO_RECORDED_VALUE`` points (staleness markers)."""

    def unstarted(self) -> list[Point]:
        """Cumulative points without a start time (no valid ``_created``)."""
        return [
            p for p in self.points if p.start_ns is None and p.stream.metric and p.stream.metric.cumulative
        ]


class Translator:
    """Samples to points, with the per-series work done once per series (``SeriesMap``)."""

    def __init__(self, limits: LabelLimits | None, staleness: Staleness = "flag") -> None:
        self.limits = limits
        self.staleness = staleness
        self.series = SeriesMap()

    def translate(self, samples: Sequence[Sample], now_ms: int) -> Translation:
        lookup = self.series.lookup
        found: dict[Stream, Point] = {}
        infos: dict[Resource, dict[str, str]] = {}
        info_samples: Counter[Resource] = Counter()
        dropped: Counter[str] = Counter()
        for sample in samples:
            series = lookup(sample)
            stream = series.stream
            if stream is None:
                if series.role == TARGET_INFO and series.resource is not None:
                    infos.setdefault(series.resource, {}).update(series.info)
                    info_samples[series.resource] += 1
                else:
                    dropped[series.reason] += 1
                continue
            time_ms = sample.timestamp_ms
            if time_ms is None:
                time_ms = now_ms
            point = found.get(stream)
            if point is None and series.role == NUMBER:  # the common case: a point of one sample
                exemplar = sample.exemplar
                found[stream] = Point(
                    stream,
                    time_ms,
                    1,
                    sample.value,
                    exemplars=None if exemplar is None else [(exemplar, time_ms)],
                )
                continue
            if point is None:
                point = found[stream] = Point(stream, time_ms)
            if not point.add(series.role, series.bound, sample, time_ms):
                dropped["duplicate_series"] += 1
        return self._gathered(found.values(), infos, info_samples, dropped)

    def _gathered(
        self,
        found: Iterable[Point],
        infos: dict[Resource, dict[str, str]],
        info_samples: Counter[Resource],
        dropped: Counter[str],
    ) -> Translation:
        """The points gathered, finished and checked, with their resources' attributes."""
        attributes = {r: r.attributes + tuple(sorted(extra.items())) for r, extra in infos.items()}
        result = Translation(dropped=dropped)
        for point in found:
            point.resource_attributes = (
                attributes.get(point.stream.resource) or point.stream.resource.attributes
            )
            reason = self._finish(point)
            if reason is None and point.stale and self.staleness == "drop":
                reason = STALE_MARKER
            if reason is None:
                result.markers += point.samples if point.stale else 0
                point.samples += info_samples.pop(point.stream.resource, 0)  # sent with its resource
                result.points.append(point)
            else:
                dropped[reason] += point.samples
        if info_samples:
            dropped["target_info_without_series"] += sum(info_samples.values())
        return result

    def _finish(self, point: Point) -> str | None:
        """Complete ``point`` (start time from ``_created``, integer counts); why it cannot be
        sent, or ``None``."""
        stream = point.stream
        metric = stream.metric
        if metric is None or (point.value is None and stream.kind in (encode.GAUGE, encode.SUM)):
            return "created_without_series"
        if not 0 <= point.time_ms <= MAX_TIME_MS:
            return "timestamp_out_of_range"
        if stream.kind == encode.HISTOGRAM:
            reason = _histogram(point)
        elif stream.kind == encode.SUMMARY:
            reason = _summary(point)
        elif stream.kind == encode.EXPONENTIAL:
            reason = _exponential(point)
        else:
            point.stale = point.value is not None and is_stale(point.value)
            reason = None
        if reason is not None:
            return reason
        if point.created is not None and math.isfinite(point.created):
            start_ns = round(point.created * 1000) * 1_000_000  # milliseconds, as Prometheus keeps them
            point.start_ns = start_ns if 0 < start_ns <= point.time_ns else None
        return self._limited(point, metric.name)

    def _limited(self, point: Point, name: str) -> str | None:
        limits = self.limits
        if limits is None:
            return None
        stream = point.stream
        if stream.label_count + len(point.resource_attributes) > limits.max_labels:
            return "too_many_labels"
        size = stream.label_size + label_bytes(point.resource_attributes) + len(name.encode())
        return "labels_too_large" if size > limits.max_bytes else None


def _whole(value: float | None) -> int | None:
    """A count as the fixed64 OTLP wants (Prometheus's are floats), or ``None`` if it is none."""
    if value is None or not 0 <= value <= MAX_COUNT:  # NaN compares false
        return None
    return round(value)


def _counted(point: Point, kind: str) -> str | None:
    """Why the point's count is missing or unusable (``None``: ``point.whole`` holds it)."""
    if point.count is None:
        return f"{kind}_without_count"
    whole = _whole(point.count)
    if whole is None:
        return f"invalid_{kind}"
    point.whole = whole
    return None


def _marked(point: Point) -> bool:
    """Whether a histogram's or summary's point is a staleness marker (its count is one); when it
    is not, marker parts beside the live count are left out, as if not exposed."""
    if point.count is not None and is_stale(point.count):
        point.stale = True
        point.ordered = sorted((bound, 0.0) for bound in point.parts or () if math.isfinite(bound))
        point.total = None
        return True
    if point.total is not None and is_stale(point.total):
        point.total = None
    if point.parts and any(map(is_stale, point.parts.values())):
        point.parts = {bound: value for bound, value in point.parts.items() if not is_stale(value)}
    return False


def _histogram(point: Point) -> str | None:
    """Explicit bounds and de-cumulated bucket counts (the +Inf bucket last)."""
    if _marked(point):
        point.counts = (0,) * (len(point.ordered) + 1)
        return None
    reason = _counted(point, "histogram")
    if reason is not None:
        return reason
    parts = point.parts or {}
    if -math.inf in parts:
        return "invalid_histogram"
    top = parts.pop(math.inf, None)
    point.ordered = sorted(parts.items())
    overall = point.whole if top is None else _whole(top)
    counts: list[int] = []
    below = 0
    for value in [*(_whole(count) for _, count in point.ordered), overall]:
        if value is None or value < below:
            return "invalid_histogram"
        counts.append(value - below)
        below = value
    point.counts = tuple(counts)
    return None


def _summary(point: Point) -> str | None:
    if _marked(point):
        return None
    reason = _counted(point, "summary")
    if reason is None:
        point.total = 0.0 if point.total is None else point.total
        point.ordered = sorted((point.parts or {}).items())
    return reason


def _exponential(point: Point) -> str | None:
    """A native histogram's point (``point.exponential``), or a marker: a sample whose value, or
    whose histogram's sum, is the staleness marker."""
    native = point.native
    if native is None:
        point.stale = point.value is not None and is_stale(point.value)
        return None if point.stale else "unexpected_series"  # a float sample named as the family
    if is_stale(native.sum):
        point.stale = True
        return None
    found = convert(native)
    if isinstance(found, str):
        return found
    point.exponential = found
    return None
