"""What each Prometheus series is in OTLP: its resource, scope, metric and stream, worked out once
per series and kept warm (``SeriesMap``).

OpenTelemetry's Prometheus compatibility specification (Prometheus → OTLP) decides every part:
the resource of a series is its target, ``service.name`` from ``job`` and ``service.instance.id``
from ``instance`` (never point attributes); labels prefixed ``otel_scope_`` give the
instrumentation scope (else the translator's own); the family's type gives the data kind; a
histogram's ``_bucket``/``_count``/``_sum``/``_created`` and a summary's quantiles, ``_count``,
``_sum`` and ``_created`` share one stream (one OTLP point per scrape), as a counter and its
``_created`` do; a native histogram (the one series named as its family) is a stream of its own,
an exponential histogram beside its classic part's explicit-bucket one; ``target_info`` becomes
resource attributes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ... import __version__
from ...model import Family, Labels, Sample, SeriesRef, is_stale_histogram
from . import encode
from .names import KINDS, prometheus_type, ucum

NUMBER: Final = 0
BUCKET: Final = 1
COUNT: Final = 2
SUM: Final = 3
CREATED: Final = 4
QUANTILE: Final = 5
TARGET_INFO: Final = 6
DROPPED: Final = 7
NATIVE: Final = 8
"""A sample's role in its stream's point."""

SCOPE_PREFIX = "otel_scope_"
TARGET_INFO_NAME = "target_info"
RESOURCE_LABELS = ("job", "instance")
SCRAPER_SCOPE = "scrape-push"
"""The instrumentation scope of metrics without ``otel_scope_*`` labels: the translator."""

MAX_SERIES = 500_000
"""Series remembered between invocations; past it the map starts afresh (a safety net: the
scrape stage's own caches are smaller)."""

POINT_ATTRIBUTE_TAGS = {
    encode.GAUGE: encode.NUMBER_ATTRIBUTES,
    encode.SUM: encode.NUMBER_ATTRIBUTES,
    encode.HISTOGRAM: encode.HISTOGRAM_ATTRIBUTES,
    encode.SUMMARY: encode.SUMMARY_ATTRIBUTES,
    encode.EXPONENTIAL: encode.EXPONENTIAL_ATTRIBUTES,
}


def label_bytes(pairs: Labels) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in pairs)


@dataclass(eq=False)
class Resource:
    """One target: its ``job`` and ``instance`` (the identity a Prometheus-side reader gets back)."""

    job: str
    instance: str
    attributes: Labels = ()
    """``service.name`` and ``service.instance.id`` (those not empty)."""

    def __post_init__(self) -> None:
        pairs = (("service.name", self.job), ("service.instance.id", self.instance))
        self.attributes = tuple((k, v) for k, v in pairs if v)


@dataclass(eq=False)
class Scope:
    """An instrumentation scope: the translator's, or the one ``otel_scope_*`` labels name."""

    name: str
    version: str
    schema_url: str
    attributes: Labels
    message: bytes = b""

    def __post_init__(self) -> None:
        self.message = encode.scope(self.name, self.version, self.attributes)


DEFAULT_SCOPE = Scope(SCRAPER_SCOPE, __version__, "", ())


@dataclass(eq=False)
class MetricDef:
    """An OTLP metric's name, kind and metadata, encoded once."""

    name: str
    kind: int
    monotonic: bool
    header: bytes
    trailer: bytes

    @property
    def cumulative(self) -> bool:
        return self.kind != encode.GAUGE


@dataclass(eq=False)
class Stream:
    """One OTLP stream: a metric's points for one attribute set in one resource and scope.
    Its ``metric`` is known once a series carrying its value is seen (a counter's ``_created``
    may come first)."""

    resource: Resource
    scope: Scope
    labels: Labels
    kind: int
    metric: MetricDef | None = None
    attributes: bytes = b""
    label_count: int = 0
    label_size: int = 0
    sid: bytes = b""
    """A stable 8-byte id of the stream within its resource (for start times kept in DynamoDB)."""

    def __post_init__(self) -> None:
        self.attributes = encode.attributes(POINT_ATTRIBUTE_TAGS[self.kind], self.labels)
        self.label_count = len(self.labels) + len(self.scope.attributes)
        self.label_size = label_bytes(self.labels) + label_bytes(self.scope.attributes)

    def identify(self, name: str) -> None:
        text = "\0".join((self.scope.name, name, *(f"{k}\0{v}" for k, v in self.labels)))
        self.sid = hashlib.blake2b(text.encode(), digest_size=8).digest()


@dataclass(frozen=True, eq=False)
class Series:
    """One Prometheus series' role in OTLP: the stream its samples go to and what they are there
    (a bucket bound or quantile in ``bound``), or why they are dropped."""

    role: int
    family: Family
    stream: Stream | None = None
    bound: float = 0.0
    reason: str = ""
    resource: Resource | None = None
    info: Labels = ()
    """``target_info``: its labels, which become the resource's attributes."""


@dataclass
class SeriesMap:
    """Every series' ``Series``, and the resources, scopes, metrics and streams they share, kept
    across warm invocations; bounded by ``MAX_SERIES``. ``lookup`` is the one place a sample's
    series is found (keyed by its ``SeriesRef``); ``forget`` drops the series the scrape stage
    let go."""

    series: dict[SeriesRef, Series] = field(default_factory=dict)
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)
    scopes: dict[Labels, Scope] = field(default_factory=dict)
    metrics: dict[tuple[str, int, str, str, str], MetricDef] = field(default_factory=dict)
    streams: dict[tuple[object, ...], Stream] = field(default_factory=dict)

    def lookup(self, sample: Sample) -> Series:
        key = sample.series
        found = self.series.get(key)
        if found is None or (found.family is not sample.family and found.family != sample.family):
            if len(self.series) >= MAX_SERIES or len(self.streams) >= MAX_SERIES:
                self.clear()
            try:
                found = self._classify(sample)
            except UnicodeEncodeError:  # a lone surrogate: protobuf strings must be valid UTF-8
                found = Series(DROPPED, sample.family, reason="invalid_utf8")
            self.series[key] = found
        return found

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        """Drop the series of ``refs``; the streams, metrics and resources they shared stay
        (a series of the same stream may come back) until the map starts afresh."""
        pop = self.series.pop
        for ref in refs:
            pop(ref, None)

    def clear(self) -> None:
        self.series.clear()
        self.resources.clear()
        self.scopes.clear()
        self.metrics.clear()
        self.streams.clear()

    # -- classification ----------------------------------------------------------------------

    def _classify(self, sample: Sample) -> Series:
        family, name = sample.family, sample.name
        pairs = dict(sample.labels)
        resource = self._resource(pairs.pop("job", ""), pairs.pop("instance", ""))
        if name == TARGET_INFO_NAME:
            return Series(TARGET_INFO, family, resource=resource, info=tuple(sorted(pairs.items())))
        declared = family.type
        if declared == "gaugehistogram":
            return Series(DROPPED, family, reason="gauge_histogram")
        kind, monotonic = KINDS.get(declared, KINDS["unknown"])
        scope = self._scope(pairs)
        # a native histogram, or its marker (one the staleness record made after a cold start
        # knows no family: its histogram says what it ends)
        if (declared == "histogram" and name == family.name) or is_stale_histogram(sample):
            stream = self._stream(resource, scope, name, pairs, encode.EXPONENTIAL)
            self._describe(stream, name, True, family)
            return Series(NATIVE, family, stream)
        if kind in (encode.HISTOGRAM, encode.SUMMARY):
            return self._part(family, name, pairs, resource=resource, scope=scope, kind=kind)
        if declared == "counter" and name == family.name + "_created":
            return Series(CREATED, family, self._stream(resource, scope, family.name, pairs, kind))
        stream = self._stream(resource, scope, family.name if declared == "counter" else name, pairs, kind)
        if stream.metric is not None and stream.metric.name != name:  # a text family with `c` and `c_total`
            return Series(DROPPED, family, reason="duplicate_series")
        self._describe(stream, name, monotonic, family)
        return Series(NUMBER, family, stream)

    def _part(
        self, family: Family, name: str, pairs: dict[str, str], *, resource: Resource, scope: Scope, kind: int
    ) -> Series:
        """A sample of a histogram or summary: which part of its family's point it is."""
        base = family.name
        suffix = name[len(base) :] if name.startswith(base) else None
        roles = {"_count": COUNT, "_sum": SUM, "_created": CREATED}
        bound = 0.0
        if suffix in roles:
            role = roles[suffix]
        elif (kind == encode.HISTOGRAM and suffix == "_bucket") or (kind == encode.SUMMARY and suffix == ""):
            role, label = (BUCKET, "le") if kind == encode.HISTOGRAM else (QUANTILE, "quantile")
            parsed = _number(pairs.pop(label, None))
            valid = parsed is not None and (role == BUCKET or 0.0 <= parsed <= 1.0)
            if parsed is None or not valid:
                return Series(DROPPED, family, reason=f"invalid_{label}")
            bound = parsed
        else:
            return Series(DROPPED, family, reason="unexpected_series")
        stream = self._stream(resource, scope, base, pairs, kind)
        self._describe(stream, base, True, family)
        return Series(role, family, stream, bound)

    def _describe(self, stream: Stream, name: str, monotonic: bool, family: Family) -> None:
        """Give ``stream`` its metric as ``family`` declares it now (its help or unit may change)."""
        if stream.metric is None:
            stream.identify(name)
        stream.metric = self._metric(name, stream.kind, monotonic, family)

    def _resource(self, job: str, instance: str) -> Resource:
        found = self.resources.get((job, instance))
        if found is None:
            found = self.resources[(job, instance)] = Resource(job, instance)
        return found

    def _scope(self, pairs: dict[str, str]) -> Scope:
        """The scope ``otel_scope_*`` labels name (removed from ``pairs``), else the translator's."""
        named = tuple(sorted((k, v) for k, v in pairs.items() if k.startswith(SCOPE_PREFIX)))
        if not named:
            return DEFAULT_SCOPE
        for key, _ in named:
            del pairs[key]
        found = self.scopes.get(named)
        if found is None:
            given = {k[len(SCOPE_PREFIX) :]: v for k, v in named}
            name, version, url = given.pop("name", ""), given.pop("version", ""), given.pop("schema_url", "")
            found = self.scopes[named] = Scope(name, version, url, tuple(sorted(given.items())))
        return found

    def _stream(
        self, resource: Resource, scope: Scope, base: str, pairs: dict[str, str], kind: int
    ) -> Stream:
        labels = tuple(sorted(pairs.items()))
        key = (resource, scope, base, kind, labels)
        found = self.streams.get(key)
        if found is None:
            found = self.streams[key] = Stream(resource, scope, labels, kind)
        return found

    def _metric(self, name: str, kind: int, monotonic: bool, family: Family) -> MetricDef:
        key = (name, kind, family.type, family.help, family.unit)
        found = self.metrics.get(key)
        if found is None:
            header = encode.metric_header(name, family.help, ucum(family.unit), prometheus_type(family.type))
            found = MetricDef(name, kind, monotonic, header, encode.data_trailer(kind, monotonic))
            self.metrics[key] = found
        return found


def _number(text: str | None) -> float | None:
    """A bucket bound or quantile label as Prometheus reads it (``+Inf`` included), else ``None``."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value
