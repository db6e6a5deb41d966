"""The one contract between pipeline stages: a scraped sample, its series and its family.

The scrape stage builds every ``Sample`` with its final labels (the target's merged in,
``metric_relabel_configs`` applied), its timestamp and its series' ``SeriesRef``; nothing
changes a sample afterwards. A sink that remembers what a series becomes for it (encoded
labels, a CloudWatch series, a Graphite name) keys that memory by the ``SeriesRef`` and drops
it when the scrape stage says the series is gone (``sinks.base.Sink.forget``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name, without ``__name__`` and without empty values."""

SeriesRef = int
"""Identity of one series in this process, given by the scrape stage's series cache: the same
for every sample of the series while the series exists, never reused for another. A sink keys
its per-series encodings by it."""

MetricType = Literal[
    "counter",
    "gauge",
    "histogram",
    "summary",
    "untyped",
    "unknown",
    "gaugehistogram",
    "info",
    "stateset",
]


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family's metadata as the exposition declared it (``# TYPE``/``HELP``/``UNIT``)."""

    name: str
    type: MetricType = "untyped"
    help: str = ""
    unit: str = ""


Spans = tuple[tuple[int, int], ...]
"""A native histogram's bucket spans: ``(offset, length)`` each, the first offset the index of
its first bucket, each other the gap after the span before (Prometheus's ``histogram.Span``)."""


@dataclass(frozen=True, slots=True)
class NativeHistogram:
    """A native (exponential-bucket) histogram's value, as Prometheus's ``Histogram`` (integer
    counts) and ``FloatHistogram`` hold it: bucket ``i`` of schema ``s`` covers
    ``(2**((i-1)/2**s), 2**(i/2**s)]`` (negated for the negative buckets).

    The bucket counts are absolute (not the exposition's deltas), in span order, and compact:
    no empty bucket, no empty span, no span right after another (``histogram.compact``).
    """

    count: float
    sum: float
    schema: int
    zero_threshold: float = 0.0
    zero_count: float = 0.0
    positive_spans: Spans = ()
    positive: tuple[float, ...] = ()
    negative_spans: Spans = ()
    negative: tuple[float, ...] = ()
    floats: bool = False
    """Float counts (a ``FloatHistogram``); otherwise every count is an ``int``."""
    gauge: bool = False
    """A gauge histogram (Remote Write's reset hint ``GAUGE``)."""

    @property
    def buckets(self) -> int:
        """Populated buckets, positive and negative (what ``native_histogram_bucket_limit``
        counts)."""
        return len(self.positive) + len(self.negative)


@dataclass(frozen=True, slots=True)
class Exemplar:
    """An OpenMetrics exemplar attached to a sample."""

    labels: Labels
    value: float
    timestamp_ms: int | None = None


class Sample(NamedTuple):
    """One sample of one series, e.g. ``http_requests_total{code="200",job="api"} 7``.

    Immutable. In hot paths build them from columns with ``tuple.__new__(Sample, row)``.
    """

    name: str
    labels: Labels
    """Final: the target's labels and ``honor_labels`` applied, then metric relabeling."""
    value: float
    timestamp_ms: int
    """The time to push: the scrape's, or the exposition's own with ``honor_timestamps``."""
    family: Family
    series: SeriesRef
    exemplar: Exemplar | None = None
    histogram: NativeHistogram | None = None
    """A native histogram sample's value (``value`` is then NaN): a sink that cannot send one
    counts it dropped (``sinks.base.split_histograms``)."""

    def label(self, name: str) -> str | None:
        """Return the value of label ``name``, or ``None`` when the series lacks it."""
        for key, value in self.labels:
            if key == name:
                return value
        return None


STALE_BITS: Final = 0x7FF0000000000002
"""Prometheus's staleness marker (``model/value.StaleNaN``): a NaN with exactly these bits says
the series ended. An exposed NaN never carries them (``float()`` of any text gives the quiet
NaN, 0x7ff8000000000000)."""
_DOUBLE = struct.Struct("<d")
STALE_NAN: Final[float] = _DOUBLE.unpack(STALE_BITS.to_bytes(8, "little"))[0]
_STALE_BYTES: Final = STALE_BITS.to_bytes(8, "little")


def is_stale(value: float) -> bool:
    """Whether ``value`` is the staleness marker (not just any NaN).

    >>> is_stale(STALE_NAN), is_stale(float("nan")), is_stale(1.0)
    (True, False, False)
    """
    return value != value and _DOUBLE.pack(value) == _STALE_BYTES  # noqa: PLR0124 (NaN test)


def sort_labels(pairs: dict[str, str]) -> Labels:
    """Build a ``Labels`` tuple from a mapping, dropping empty values as Prometheus does."""
    return tuple(sorted((k, v) for k, v in pairs.items() if v != ""))


STALE_HISTOGRAM: Final = NativeHistogram(0, STALE_NAN, 0)
"""The staleness marker of a native histogram series with integer counts: what Prometheus's
head appends for a stale NaN on such a series (``tsdb/head_append.go``: ``Histogram{Sum:
StaleNaN}``): zero counts, schema 0, no spans, the sum the stale NaN."""
STALE_FLOAT_HISTOGRAM: Final = NativeHistogram(0.0, STALE_NAN, 0, floats=True)
"""The same for a series of float histograms (``FloatHistogram{Sum: StaleNaN}``)."""


def is_stale_histogram(sample: Sample) -> bool:
    """Whether ``sample`` is a native histogram's staleness marker (``STALE_HISTOGRAM`` or
    ``STALE_FLOAT_HISTOGRAM``). Its ``value`` is ``STALE_NAN`` too, so a sink that leaves every
    marker out by ``is_stale(sample.value)`` leaves this one out as well; a sink that sends
    markers tells it from a float marker by this.

    >>> marker = Sample("h", (), STALE_NAN, 0, Family("h", "histogram"), 1, None, STALE_HISTOGRAM)
    >>> is_stale_histogram(marker), is_stale_histogram(marker._replace(histogram=None))
    (True, False)
    """
    return sample.histogram is not None and is_stale(sample.histogram.sum)
