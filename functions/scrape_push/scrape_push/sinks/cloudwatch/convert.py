"""Pure translation of outputs into PutMetricData requests, enforcing CloudWatch's limits.

Nothing here touches the network: ``to_datums`` turns the outputs of ``translate`` into
``Datum`` objects (dropping and counting what CloudWatch would reject, adding rollup dimension
sets) and ``by_namespace``/``partition`` pack them into requests that respect the item-count and
byte-size limits.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...model import Labels
from .limits import (
    MAX_ABS_VALUE,
    MAX_DATUMS_PER_REQUEST,
    MAX_FUTURE_SECONDS,
    MAX_PAST_SECONDS,
    MAX_REQUEST_BYTES,
    MIN_ABS_VALUE,
)
from .series import MEMBER_PREFIX, Series, SeriesBuilder, SeriesKey, encoded_length

if TYPE_CHECKING:
    from .outputs import Out

__all__ = ["Datum", "DatumSet", "by_namespace", "partition", "to_datums"]

_REQUEST_OVERHEAD = len("Action=PutMetricData&Version=2010-08-01&Namespace=")
_INFINITIES = (math.inf, -math.inf)
_VALUE_BYTES = MEMBER_PREFIX + len("Values.member.150=&")
_UNIT_BYTES = MEMBER_PREFIX + len("Unit=Kilobytes/Second&")


@dataclass(frozen=True, slots=True)
class Datum:
    """One MetricDatum (``payload`` is the boto3 shape), its worst-case encoded size, and how
    many scraped samples it accounts for (``weight``: 0 for rollups and derived extras)."""

    payload: dict[str, Any]
    size: int
    weight: int = 1
    namespace: str = ""


@dataclass
class DatumSet:
    """The datums to send, and every sample not sent (or sent changed) counted by reason."""

    datums: list[Datum] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    collisions: Counter[str] = field(default_factory=Counter)
    """Per metric name: series dropped because another series had the same dimensions."""
    collision_labels: dict[str, set[str]] = field(default_factory=dict)
    """Per metric name: the labels that told the colliding series apart (not dimensions)."""
    capped: Counter[str] = field(default_factory=Counter)
    """Per metric name: series dropped by ``max_series_per_metric``."""


def to_datums(  # noqa: PLR0912, PLR0915  (the per-sample hot path, kept inline: see the bench)
    outs: Iterable[Out], builder: SeriesBuilder, now_ms: int, max_series: int = 0
) -> DatumSet:
    """Translate outputs into datums, dropping (and counting) what CloudWatch would reject.

    Two series that differ only in labels that are not dimensions would become one CloudWatch
    metric: the first is sent, the others are dropped as ``dimension_collision`` (the fix is to
    add the label that tells them apart to ``dimensions``). Rollup dimension sets merge series
    on purpose and are exempt. With ``max_series``, a metric's distinct dimension sets past the
    cap are dropped as ``series_cap``.
    """
    result = DatumSet()
    dropped, datums = result.dropped, result.datums
    earliest = now_ms - MAX_PAST_SECONDS * 1000
    latest = now_ms + MAX_FUTURE_SECONDS * 1000
    stamps: dict[int, datetime] = {}
    seen: dict[tuple[int, int], Out] = {}
    per_metric: dict[tuple[str, str], set[SeriesKey]] = {}
    series_of = builder.series
    for out in outs:
        weight = out.weight
        value = out.value  # NaN for a distribution, whose values are in out.values
        if out.values is None:
            if not -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE:  # NaN compares false too
                dropped[
                    "nan_or_inf" if math.isnan(value) or value in _INFINITIES else "value_out_of_range"
                ] += weight
                continue
            if -MIN_ABS_VALUE < value < MIN_ABS_VALUE and value != 0.0:
                result.adjusted["value_underflow_sent_as_zero"] += weight
                value = 0.0
        elif not out.values:
            dropped["histogram_no_observations"] += weight
            continue
        timestamp_ms = out.timestamp_ms
        if not earliest <= timestamp_ms <= latest:
            dropped["timestamp_out_of_range"] += weight
            continue
        series = series_of(out)
        if weight:  # the later chunks of a distribution and derived extras share a series
            slot = (series.key_hash, timestamp_ms)
            other = seen.get(slot)
            if other is not None and series_of(other).key == series.key:
                dropped["dimension_collision"] += weight
                result.collisions[series.name] += 1
                apart = result.collision_labels.setdefault(series.name, set())
                apart.update(_apart(other.labels, out.labels))
                continue
            seen.setdefault(slot, out)
        if max_series and _over_cap(series, per_metric, max_series):
            dropped["series_cap"] += weight
            result.capped[series.name] += 1
            continue
        if series.adjustments and weight:
            result.adjusted.update(series.adjustments)
        stamp = stamps.get(timestamp_ms)
        if stamp is None:
            stamp = stamps[timestamp_ms] = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
        if out.values is None and out.unit is None:  # the common case, inline
            payload: dict[str, Any] = {
                "MetricName": series.name,
                "Timestamp": stamp,
                "Value": value,
                "StorageResolution": out.settings.storage_resolution,
            }
            if series.dimensions:
                payload["Dimensions"] = series.dimensions
            size = series.size + len(repr(value))
        else:
            payload, size = _payload(out, series, stamp, value)
        datums.append(Datum(payload, size, weight, series.namespace))
        if series.rollups:
            _add_rollups(datums, payload, series, size)
    return result


def _apart(first: Labels, second: Labels) -> set[str]:
    """The labels whose values differ between two label sets (present in one only included)."""
    a, b = dict(first), dict(second)
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


def _add_rollups(datums: list[Datum], payload: dict[str, Any], series: Series, size: int) -> None:
    for dims, rollup_size in zip(series.rollups, series.rollup_sizes, strict=True):
        rolled = dict(payload)
        if dims:
            rolled["Dimensions"] = dims
        else:
            rolled.pop("Dimensions", None)
        datums.append(Datum(rolled, size - series.size + rollup_size, 0, series.namespace))


def _over_cap(series: Series, per_metric: dict[tuple[str, str], set[SeriesKey]], cap: int) -> bool:
    """Whether ``series`` is a new dimension set of a metric that already has ``cap`` of them."""
    known = per_metric.setdefault((series.namespace, series.name), set())
    if series.key in known:
        return False
    if len(known) >= cap:
        return True
    known.add(series.key)
    return False


def _payload(out: Out, series: Series, stamp: datetime, value: float) -> tuple[dict[str, Any], int]:
    payload: dict[str, Any] = {
        "MetricName": series.name,
        "Timestamp": stamp,
        "StorageResolution": out.settings.storage_resolution,
    }
    if out.values is not None:
        payload["Values"] = out.values
        payload["Counts"] = out.counts
        size = series.size + sum(_VALUE_BYTES + len(repr(v)) for v in out.values)
        size += sum(_VALUE_BYTES + len(repr(c)) for c in out.counts or ())
    else:
        payload["Value"] = value
        size = series.size + len(repr(value))
    if out.unit is not None:
        payload["Unit"] = out.unit
        size += _UNIT_BYTES
    if series.dimensions:
        payload["Dimensions"] = series.dimensions
    return payload, size


def partition(datums: Sequence[Datum], namespace: str) -> list[list[Datum]]:
    """Pack datums of one namespace, in order, into requests within the count and byte limits."""
    overhead = _REQUEST_OVERHEAD + encoded_length(namespace)
    batches: list[list[Datum]] = []
    current: list[Datum] = []
    size = overhead
    for datum in datums:
        if current and (len(current) >= MAX_DATUMS_PER_REQUEST or size + datum.size > MAX_REQUEST_BYTES):
            batches.append(current)
            current, size = [], overhead
        current.append(datum)
        size += datum.size
    if current:
        batches.append(current)
    return batches


def by_namespace(datums: Sequence[Datum]) -> list[tuple[str, list[list[Datum]]]]:
    """Requests per namespace (one namespace per PutMetricData request), in first-seen order."""
    if not datums:
        return []
    first = datums[0].namespace
    if datums[-1].namespace == first and all(d.namespace == first for d in datums):
        return [(first, partition(datums, first))]
    groups: dict[str, list[Datum]] = {}
    for datum in datums:
        groups.setdefault(datum.namespace, []).append(datum)
    return [(namespace, partition(group, namespace)) for namespace, group in groups.items()]
