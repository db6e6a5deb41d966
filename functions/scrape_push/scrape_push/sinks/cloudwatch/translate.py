"""From scraped samples to what the sink sends: pure, no I/O.

``group`` sorts one cycle's samples into outputs ready to send (gauges, cumulative counters,
summary quantiles, ``buckets``-mode histograms) and tracked series whose increase since the
previous scrape is sent (``delta``/``rate`` counters, ``distribution`` histograms). Once the
previous points are known, ``resolve`` turns the tracked series into outputs.

``_created`` samples of counters, histograms and summaries are never sent as metrics: they tell
a restarted series apart (a newer ``_created`` is a reset) and are accounted with their series.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from ...model import Family, Labels, Sample
from .counters import CumulativePoint, Increase, Skip, increase
from .histograms import chunks, distribution, parse_bound, within_range
from .native import native_distribution, native_increase, native_tracked
from .outputs import Grouped, Out, Target, Tracked
from .rules import Rules, Settings, unit_for
from .state import state_id

_CUMULATIVE = frozenset(("counter", "histogram", "summary"))


@dataclass(slots=True)
class _Histogram:
    sample: Sample
    settings: Settings
    buckets: list[tuple[float, float]] = field(default_factory=list)
    count: float | None = None
    total: float | None = None
    created: float | None = None
    weight: int = 0


class Resolved(NamedTuple):
    """What the tracked series send, and what they do not (or send changed), by reason."""

    outs: list[Out]
    dropped: Counter[str]
    adjusted: Counter[str]


def _without(labels: Labels, name: str) -> Labels:
    return tuple(pair for pair in labels if pair[0] != name)


def _target(labels: Labels) -> Target:
    found = dict(labels)
    return found.get("job", ""), found.get("instance", "")


def quantile_name(family: str, quantile: str) -> str:
    """``rpc_seconds`` + ``0.99`` -> ``rpc_seconds_p99`` (``0.999`` -> ``_p99.9``)."""
    try:
        percent = float(quantile) * 100
    except ValueError:
        return f"{family}_q{quantile}"
    return f"{family}_p{percent:.10g}"


MEMO_SIZE: Final = 65536
"""Metric names whose settings and units a grouper remembers at most; beyond, it starts afresh."""


class Grouper:
    """Sorts samples for one sink configuration (what it remembers survives warm invocations)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.units: dict[tuple[str, str, str], str | None] = {}
        self.plain: dict[tuple[str, str], tuple[Settings | None, str | None]] = {}
        """Per (family, series name): settings and the unit of a value sent as it is."""

    def unit(self, family: Family, name: str, settings: Settings, counted: bool, mode: str) -> str | None:
        key = (family.name, name, mode)
        try:
            return self.units[key]
        except KeyError:
            found = self.units[key] = unit_for(family, name, settings, counted=counted, mode=mode)
            return found

    def group(self, samples: Iterable[Sample]) -> Grouped:
        for memo in (self.plain, self.units):
            if len(memo) > MEMO_SIZE:
                memo.clear()
        result = Grouped()
        outs, dropped = result.outs, result.dropped
        created: dict[tuple[str, Labels], tuple[float, int]] = {}
        histograms: dict[tuple[str, Labels], _Histogram] = {}
        counters: list[Tracked] = []
        plain, append = self.plain, outs.append
        for sample in samples:
            family = sample.family
            found = plain.get((family.name, sample.name))
            if found is None:
                found = plain[family.name, sample.name] = self._plain(family, sample.name)
            settings, unit = found
            if settings is None:
                dropped["excluded"] += 1
                continue
            if sample.histogram is not None:
                self._native(sample, settings, outs, counters)
                continue
            ts = sample.timestamp_ms
            if family.type not in _CUMULATIVE:
                append(
                    Out(
                        sample.name,
                        sample.labels,
                        settings,
                        ts,
                        sample.value,
                        unit,
                        1,
                        None,
                        None,
                        None,
                        sample.series,
                    )
                )
                continue
            name = sample.name
            if name == family.name + "_created":
                key = (family.name, sample.labels)
                _, seen = created.get(key, (0.0, 0))
                created[key] = (sample.value, seen + 1)
                continue
            if family.type == "histogram" and settings.histograms == "distribution":
                self._histogram_part(sample, settings, histograms, dropped)
                continue
            self._cumulative(sample, settings, ts, outs, counters)
        self._attach_created(created, outs, counters, histograms, dropped)
        result.tracked = counters + [self._track(h) for h in histograms.values()]
        return result

    def _native(self, sample: Sample, settings: Settings, outs: list[Out], tracked: list[Tracked]) -> None:
        """A native histogram: its increase as a distribution (a gauge histogram: as it is)."""
        series = native_tracked(sample, settings, _target(sample.labels))
        if sample.histogram is not None and sample.histogram.gauge:
            values, counts, _, _ = native_distribution(series.point.layout, series.point.values)
            self._distribution_outs(series, values, counts, outs)
        else:
            tracked.append(series)

    def _plain(self, family: Family, name: str) -> tuple[Settings | None, str | None]:
        settings = self.rules.settings(family.name, name)
        if settings is None:
            return None, None
        return settings, unit_for(family, name, settings, counted=False, mode="gauge")

    def _cumulative(
        self, sample: Sample, settings: Settings, ts: int, outs: list[Out], counters: list[Tracked]
    ) -> None:
        family, name = sample.family, sample.name
        extra = None
        if name.endswith("_bucket") and family.type == "histogram":
            extra = "le"
        elif family.type == "summary" and name == family.name:
            quantile = sample.label("quantile")
            if settings.summaries == "metrics" and quantile is not None:
                unit = self.unit(family, family.name, settings, False, "gauge")
                out_name = quantile_name(family.name, quantile)
                labels = _without(sample.labels, "quantile")
                outs.append(Out(out_name, labels, settings, ts, sample.value, unit, ref=sample.series))
            else:
                unit = self.unit(family, name, settings, False, "gauge")
                outs.append(Out(name, sample.labels, settings, ts, sample.value, unit, extra="quantile"))
            return
        mode = settings.counter_mode
        counted = not name.endswith("_sum")
        if mode == "cumulative":
            unit = self.unit(family, name, settings, counted, mode)
            outs.append(
                Out(name, sample.labels, settings, ts, sample.value, unit, extra=extra, ref=sample.series)
            )
            return
        counters.append(
            Tracked(
                "counter",
                _target(sample.labels),
                state_id(name, sample.labels),
                name,
                sample.labels,
                family,
                settings,
                CumulativePoint(ts, (sample.value,)),
                extra=extra,
                ref=sample.series,
            )
        )

    @staticmethod
    def _histogram_part(
        sample: Sample,
        settings: Settings,
        histograms: dict[tuple[str, Labels], _Histogram],
        dropped: Counter[str],
    ) -> None:
        family, name = sample.family, sample.name
        le = sample.label("le") if name.endswith("_bucket") else None
        labels = _without(sample.labels, "le") if le is not None else sample.labels
        key = (family.name, labels)
        series = histograms.get(key)
        if series is None:
            series = histograms[key] = _Histogram(sample, settings)
        series.weight += 1
        if le is not None:
            bound = parse_bound(le)
            if bound is None:
                dropped["invalid_le"] += 1
                series.weight -= 1
                return
            series.buckets.append((bound, sample.value))
        elif name.endswith("_count"):
            series.count = sample.value
        elif name.endswith("_sum"):
            series.total = sample.value

    def _attach_created(
        self,
        created: Mapping[tuple[str, Labels], tuple[float, int]],
        outs: list[Out],
        counters: list[Tracked],
        histograms: dict[tuple[str, Labels], _Histogram],
        dropped: Counter[str],
    ) -> None:
        """Give each ``_created`` value and sample to its series; count the orphans as dropped."""
        if not created:
            return
        left = dict(created)
        for key, series in histograms.items():
            found = left.pop(key, None)
            if found is not None:
                series.created, series.weight = found[0], series.weight + found[1]
        for tracked in counters:  # every bucket of a series needs the value; one carries the weight
            base = _without(tracked.labels, "le") if tracked.extra == "le" else tracked.labels
            found = created.get((tracked.family.name, base))
            if found is not None:
                p = tracked.point
                tracked.point = CumulativePoint(p.ts_ms, p.values, found[0], p.layout)
                if left.pop((tracked.family.name, base), None) is not None:
                    tracked.weight += found[1]
        if left:
            for out in outs:
                labels = _without(out.labels, out.extra) if out.extra else out.labels
                family = out.name.removesuffix("_total").removesuffix("_bucket")
                for candidate in {family, family.removesuffix("_count").removesuffix("_sum")}:
                    found = left.pop((candidate, labels), None)
                    if found is not None:
                        out.weight += found[1]
        for _, seen in left.values():
            dropped["created_without_series"] += seen

    def _track(self, h: _Histogram) -> Tracked:
        sample = h.sample
        family = sample.family
        h.buckets.sort()
        bounds = tuple(b for b, _ in h.buckets)
        cumulative = tuple(v for _, v in h.buckets)
        count = h.count if h.count is not None else (cumulative[-1] if cumulative else 0.0)
        total = h.total if h.total is not None else 0.0
        labels = _without(sample.labels, "le")
        ts = sample.timestamp_ms
        return Tracked(
            "histogram",
            _target(labels),
            state_id(family.name + "#distribution", labels),
            family.name,
            labels,
            family,
            h.settings,
            CumulativePoint(ts, (*cumulative, count, total), h.created, ",".join(f"{b:g}" for b in bounds)),
            weight=h.weight,
            bounds=bounds,
            ref=sample.series,
        )

    def resolve(
        self, tracked: Sequence[Tracked], previous: Mapping[str, CumulativePoint], sum_count: bool
    ) -> Resolved:
        """Outputs for tracked series given their previous points (keyed by series id)."""
        resolved = Resolved([], Counter(), Counter())
        for series in tracked:
            if series.kind == "native":
                found = native_increase(previous.get(series.state_id), series.point)
            elif series.kind == "counter":
                found = increase(previous.get(series.state_id), series.point)
            else:
                found = increase(
                    previous.get(series.state_id), series.point, monotonic=len(series.bounds) + 1
                )
            if isinstance(found, Skip):
                resolved.dropped[found.value] += series.weight
            elif series.kind == "counter":
                resolved.outs.append(self._counter_out(series, found))
            elif series.kind == "native":
                values, counts, count, total = native_distribution(series.point.layout, found.values)
                self._distribution(
                    series, (values, counts), (count, total, found.seconds), sum_count, resolved
                )
            else:
                self._histogram_outs(series, found, sum_count, resolved)
        return resolved

    def _counter_out(self, series: Tracked, found: Increase) -> Out:
        mode = series.settings.counter_mode
        value = found.values[0] / found.seconds if mode == "rate" else found.values[0]
        counted = not series.name.endswith("_sum")
        unit = self.unit(series.family, series.name, series.settings, counted, mode)
        return Out(
            series.name,
            series.labels,
            series.settings,
            series.point.ts_ms,
            value,
            unit,
            weight=series.weight,
            extra=series.extra,
            ref=series.ref,
        )

    def _histogram_outs(self, series: Tracked, found: Increase, sum_count: bool, resolved: Resolved) -> None:
        n = len(series.bounds)
        buckets, count, total = found.values[:n], found.values[n], found.values[n + 1]
        mean = total / count if count > 0 else None
        values, counts = distribution(series.bounds, buckets, mean)
        self._distribution(series, (values, counts), (count, total, found.seconds), sum_count, resolved)

    def _distribution(
        self,
        series: Tracked,
        found: tuple[list[float], list[float]],
        totals: tuple[float, float, float],
        sum_count: bool,
        resolved: Resolved,
    ) -> None:
        """A distribution's outputs (``found``: its values and counts), with ``_sum`` and
        ``_count`` (``totals``: their increases over that many seconds) when ``sum_count``."""
        fitted = within_range(*found)
        if fitted is None:
            resolved.dropped["count_out_of_range"] += series.weight
            return
        values, counts, clamped = fitted
        if clamped:
            resolved.adjusted["value_clamped"] += series.weight
        outs: list[Out] = []
        self._distribution_outs(series, values, counts, outs)
        if sum_count:
            count, total, seconds = totals
            settings, ts, mode = series.settings, series.point.ts_ms, series.settings.counter_mode
            for suffix, value, counted in (("_sum", total, False), ("_count", count, True)):
                name = series.name + suffix
                sent = value / seconds if mode == "rate" else value
                unit = self.unit(series.family, name, settings, counted, mode)
                outs.append(Out(name, series.labels, settings, ts, sent, unit, weight=0))
        resolved.outs.extend(outs)

    def _distribution_outs(
        self, series: Tracked, values: list[float], counts: list[float], outs: list[Out]
    ) -> None:
        """The datums of one distribution: at most ``MAX_VALUES_PER_DATUM`` values each, the
        first carrying the series' weight."""
        ts, settings = series.point.ts_ms, series.settings
        unit = self.unit(series.family, series.name, settings, False, "gauge")
        weight = series.weight
        start = len(outs)
        for chunk_values, chunk_counts in chunks(values, counts):
            out = Out(series.name, series.labels, settings, ts, math.nan, unit, weight, None, chunk_values)
            out.counts, out.ref = chunk_counts, series.ref
            outs.append(out)
            weight = 0
        if len(outs) == start:
            # Nothing observed in the interval: CloudWatch's "no data" is the truth here (a zero
            # would be an observation of 0 and skew every percentile).
            outs.append(Out(series.name, series.labels, settings, ts, math.nan, unit, weight, values=[]))
