"""``cloudwatch[]``: one CloudWatch sink's configuration, validated at load.

The common case stays short (``namespace`` and, optionally, ``dimensions``); everything else
has a default that keeps the plain one-datum-per-sample behaviour. Per-metric ``metrics`` rules
override the sink's settings for the metric families they match (first match wins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from ...backlog.config import BacklogConfig
from ...config.errors import FieldError
from ...config.values import check_label_name
from .limits import DEFAULT_MAX_AGE, MAX_DIMENSIONS, UNITS

CounterMode = Literal["cumulative", "delta", "rate"]
HistogramMode = Literal["buckets", "distribution"]
SummaryMode = Literal["dimension", "metrics"]
Mode = Literal["api", "emf"]

_NAMESPACE = re.compile(r"^[A-Za-z0-9._/#:\- ]{1,255}$")


def added_dimension(
    dimensions: tuple[str, ...], histograms: HistogramMode, summaries: SummaryMode
) -> str | None:
    """The label the sink adds to some series' dimensions itself, when not listed: ``le`` on
    histogram buckets sent as buckets, ``quantile`` on summaries sent with a quantile dimension
    (a series is one or the other, so at most one is added)."""
    if histograms == "buckets" and "le" not in dimensions:
        return "le"
    if summaries == "dimension" and "quantile" not in dimensions:
        return "quantile"
    return None


def _compile(pattern: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(f"(?:{pattern})\\Z")
    except re.error as exc:
        raise FieldError(f"invalid regular expression {pattern!r}: {exc}", key) from None


def _check_labels(labels: tuple[str, ...], key: str) -> None:
    unique = set(labels)
    if len(unique) > MAX_DIMENSIONS:
        raise FieldError(
            f"{len(unique)} dimensions configured; CloudWatch allows at most {MAX_DIMENSIONS}", key
        )
    if len(set(labels)) != len(labels):
        raise FieldError("lists a label more than once", key)
    for index, label in enumerate(labels):
        try:
            check_label_name(label)
        except FieldError as exc:
            raise FieldError(str(exc), f"{key}[{index}]") from None


_ADDED_BY = {
    "le": ("histograms", "buckets", "distribution"),
    "quantile": ("summaries", "dimension", "metrics"),
}
"""The setting that adds each label, its value that does, and the one that does not."""


def _check_room(
    dimensions: tuple[str, ...], histograms: HistogramMode, summaries: SummaryMode, key: str
) -> None:
    """The dimension the sink adds (``added_dimension``) counts against CloudWatch's limit too."""
    added = added_dimension(dimensions, histograms, summaries)
    if added is not None and len(set(dimensions)) >= MAX_DIMENSIONS:
        setting, adding, other = _ADDED_BY[added]
        raise FieldError(
            f"{len(set(dimensions))} dimensions configured, plus the {added!r} dimension the sink adds "
            f"({setting}: {adding}); CloudWatch allows at most {MAX_DIMENSIONS}: drop a dimension, "
            f"or set {setting}: {other}",
            key,
        )


def _check_rollups(rollups: tuple[tuple[str, ...], ...], dimensions: tuple[str, ...] | None) -> None:
    for index, rollup in enumerate(rollups):
        _check_labels(rollup, f"rollups[{index}]")
        if dimensions is not None and not set(rollup) <= set(dimensions):
            extra = sorted(set(rollup) - set(dimensions))
            raise FieldError(f"labels {extra} are not in 'dimensions'", f"rollups[{index}]")


def _check_unit(unit: str | None) -> None:
    if unit is not None and unit not in UNITS:
        raise FieldError(f"not a CloudWatch unit: {unit!r} (e.g. Seconds, Bytes, Count)", "unit")


@dataclass(frozen=True)
class MetricRule:
    """``metrics[]``: settings for the metric families whose name ``match`` fully matches."""

    match: str = field(metadata={"doc": "regex, fully anchored, on the family or series name"})
    dimensions: tuple[str, ...] | None = None
    rollups: tuple[tuple[str, ...], ...] | None = None
    counter_mode: CounterMode | None = None
    histograms: HistogramMode | None = None
    summaries: SummaryMode | None = None
    unit: str | None = None
    storage_resolution: Literal[1, 60] | None = None

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.match, "match")

    def check(self) -> None:
        _ = self.pattern
        if self.dimensions is not None:
            _check_labels(self.dimensions, "dimensions")
        if self.rollups is not None:
            _check_rollups(self.rollups, self.dimensions)
        _check_unit(self.unit)


@dataclass(frozen=True)
class CloudWatchConfig:
    """``cloudwatch[]``: one CloudWatch sink (PutMetricData, or EMF documents on stdout)."""

    namespace: str
    name: str = field(default="", metadata={"derived": "the namespace"})
    region: str | None = None
    mode: Mode = "api"
    namespace_per_job: bool = field(
        default=False, metadata={"doc": "put each job's metrics in '<namespace>/<job>'"}
    )
    dimensions: tuple[str, ...] = ("job", "instance")
    rollups: tuple[tuple[str, ...], ...] = ()
    storage_resolution: Literal[1, 60] = 60
    counter_mode: CounterMode = "cumulative"
    histograms: HistogramMode = "buckets"
    histogram_sum_count: bool = field(
        default=False, metadata={"doc": "with histograms: distribution, also send _sum and _count"}
    )
    summaries: SummaryMode = "dimension"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_series_per_metric: int = field(
        default=0, metadata={"doc": "distinct dimension sets per metric per invocation", "zero": "no cap"}
    )
    metrics: tuple[MetricRule, ...] = ()
    backlog: BacklogConfig = field(
        default_factory=BacklogConfig, metadata={"doc": "what is kept when the sink cannot be reached"}
    )

    @property
    def display_name(self) -> str:
        """``name``, else the namespace."""
        return self.name or self.namespace

    @cached_property
    def include_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_compile(p, f"include[{i}]") for i, p in enumerate(self.include))

    @cached_property
    def exclude_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_compile(p, f"exclude[{i}]") for i, p in enumerate(self.exclude))

    @property
    def stateful(self) -> bool:
        """Whether some metric needs the previous scrape's values (deltas, rates, distributions)."""
        modes = {self.counter_mode} | {r.counter_mode for r in self.metrics}
        hist = {self.histograms} | {r.histograms for r in self.metrics}
        return bool(modes & {"delta", "rate"}) or "distribution" in hist

    def resolve(self) -> CloudWatchConfig:
        """The name (the namespace unless set) and the backlog's window (PutMetricData's)."""
        return replace(self, name=self.display_name, backlog=self.backlog.with_max_age(DEFAULT_MAX_AGE))

    def check(self) -> None:
        if not _NAMESPACE.match(self.namespace) or self.namespace.startswith(("AWS/", ":")):
            raise FieldError(
                "must be 1-255 characters of letters, digits and . - _ / # : space, "
                "not starting with 'AWS/' or ':'",
                "namespace",
            )
        _check_labels(self.dimensions, "dimensions")
        _check_room(self.dimensions, self.histograms, self.summaries, "dimensions")
        _check_rollups(self.rollups, self.dimensions)
        _ = self.include_patterns, self.exclude_patterns
        if self.max_series_per_metric < 0:
            raise FieldError("must not be negative (0 means no cap)", "max_series_per_metric")
        for index, rule in enumerate(self.metrics):
            dimensions = self.dimensions if rule.dimensions is None else rule.dimensions
            where = f"metrics[{index}]" + (".dimensions" if rule.dimensions is not None else "")
            _check_room(
                dimensions, rule.histograms or self.histograms, rule.summaries or self.summaries, where
            )
            if rule.rollups is not None and rule.dimensions is None:
                try:
                    _check_rollups(rule.rollups, self.dimensions)
                except FieldError as exc:
                    raise FieldError(str(exc), f"metrics[{index}].{exc.key}") from None
