"""Which settings apply to a metric, and which CloudWatch unit it carries: pure and cached.

A sample's settings are the sink's, overridden by the first ``metrics`` rule whose ``match``
fully matches the family name (``http_requests``) or the series name (``http_requests_total``);
``include``/``exclude`` test the same two names.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model import Family
from .config import CloudWatchConfig, CounterMode, HistogramMode, SummaryMode

_UNIT_WORDS = {
    "seconds": "Seconds",
    "milliseconds": "Milliseconds",
    "microseconds": "Microseconds",
    "bytes": "Bytes",
    "kilobytes": "Kilobytes",
    "megabytes": "Megabytes",
    "gigabytes": "Gigabytes",
    "bits": "Bits",
    "percent": "Percent",
}
"""OpenMetrics ``UNIT`` values (and name suffixes) with a CloudWatch unit of their own."""

_PER_SECOND = {"Count": "Count/Second", "Bytes": "Bytes/Second", "Bits": "Bits/Second"}
"""A rate's unit; other rates (seconds per second ...) are dimensionless and carry none."""

_COMPONENT_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings for one metric family (sink defaults, then the matching rule)."""

    dimensions: tuple[str, ...]
    rollups: tuple[tuple[str, ...], ...]
    counter_mode: CounterMode
    histograms: HistogramMode
    summaries: SummaryMode
    unit: str | None
    storage_resolution: int


class Rules:
    """Resolves settings per (family, series name), remembering each answer."""

    def __init__(self, config: CloudWatchConfig) -> None:
        self.config = config
        self._cache: dict[tuple[str, str], Settings | None] = {}

    def settings(self, family: str, name: str) -> Settings | None:
        """The settings for series ``name`` of ``family``; ``None`` when excluded."""
        key = (family, name)
        try:
            return self._cache[key]
        except KeyError:
            found = self._cache[key] = self._resolve(family, name)
            return found

    def _resolve(self, family: str, name: str) -> Settings | None:
        c = self.config
        names = (family, name) if family and family != name else (name,)
        if c.include_patterns and not any(p.match(n) for p in c.include_patterns for n in names):
            return None
        if any(p.match(n) for p in c.exclude_patterns for n in names):
            return None
        rule = next((r for r in c.metrics if any(r.pattern.match(n) for n in names)), None)
        if rule is None:
            return Settings(
                c.dimensions,
                c.rollups,
                c.counter_mode,
                c.histograms,
                c.summaries,
                None,
                c.storage_resolution,
            )
        return Settings(
            rule.dimensions if rule.dimensions is not None else c.dimensions,
            rule.rollups if rule.rollups is not None else c.rollups,
            rule.counter_mode or c.counter_mode,
            rule.histograms or c.histograms,
            rule.summaries or c.summaries,
            rule.unit,
            rule.storage_resolution or c.storage_resolution,
        )


def base_unit(family: Family, name: str) -> str | None:
    """The unit a family measures in: its OpenMetrics ``UNIT``, else a well-known name suffix."""
    if family.unit:
        return _UNIT_WORDS.get(family.unit.lower())
    stem = family.name or name
    for suffix in _COMPONENT_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    word = stem.rsplit("_", 1)[-1]
    return _UNIT_WORDS.get(word) if word != stem else None


def unit_for(family: Family, name: str, settings: Settings, *, counted: bool, mode: str) -> str | None:
    """The ``Unit`` of a datum.

    ``counted`` marks values that count events (``_total`` without a unit of its own,
    ``_count``, ``_bucket``): ``Count`` once they are deltas, ``Count/Second`` as rates.
    ``mode`` is ``gauge`` for values sent as they are, else the counter mode applied.
    """
    if settings.unit is not None:
        return settings.unit
    unit = base_unit(family, name)
    if counted and (unit is None or name.endswith(("_count", "_bucket"))):
        unit = "Count" if mode in ("delta", "rate") else None
    if mode == "rate" and unit is not None:
        return _PER_SECOND.get(unit)
    return unit
