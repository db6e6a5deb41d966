"""Pure translation of samples into PutMetricData requests, enforcing CloudWatch's limits.

Nothing here touches the network: ``to_datums`` turns samples into ``Datum`` objects (dropping
and counting what CloudWatch would reject) and ``partition`` packs them into requests that
respect the item-count and byte-size limits.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...model import Sample
from .limits import (
    MAX_ABS_VALUE,
    MAX_DATUMS_PER_REQUEST,
    MAX_DIMENSION_VALUE_LENGTH,
    MAX_DIMENSIONS,
    MAX_FUTURE_SECONDS,
    MAX_NAME_LENGTH,
    MAX_PAST_SECONDS,
    MAX_REQUEST_BYTES,
    MIN_ABS_VALUE,
)

_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))
_HASH_CHARS = 8
# The query-protocol encoding is the most verbose of the protocols the SDK may use (query,
# JSON, CBOR), so sizing requests by it keeps every protocol under the byte limit.
_MEMBER_PREFIX = len("MetricData.member.1000.")
_REQUEST_OVERHEAD = len("Action=PutMetricData&Version=2010-08-01&Namespace=")
_FIXED_DATUM_BYTES = (
    4 * _MEMBER_PREFIX
    + len("MetricName=&")
    + len("Timestamp=2000-01-01T00:00:00.000Z&")
    + len("Value=&")
    + len("StorageResolution=60&")
)
_DIMENSION_BYTES = 2 * (_MEMBER_PREFIX + len("Dimensions.member.30.Name=&"))
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_URL_ESCAPED = {c: "%XX" for c in range(0x80) if chr(c) not in _URL_SAFE}
_INFINITIES = (math.inf, -math.inf)


@dataclass(frozen=True)
class DatumRules:
    """How samples become datums for one sink."""

    dimensions: tuple[str, ...] = ("job", "instance")
    storage_resolution: int = 60


@dataclass(frozen=True, slots=True)
class Datum:
    """One MetricDatum (``payload`` is the boto3 shape) and its worst-case encoded size."""

    payload: dict[str, Any]
    size: int


@dataclass
class Conversion:
    """The datums to send, and every sample not sent (or sent changed) counted by reason."""

    datums: list[Datum] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    collisions: Counter[str] = field(default_factory=Counter)
    """Per metric name: series dropped because another series had the same dimensions."""


@dataclass(frozen=True, slots=True)
class _Series:
    """What a series always becomes for one sink: computed once, reused for every sample."""

    name: str
    dimensions: list[dict[str, str]]
    key: tuple[str, tuple[tuple[str, str], ...]]
    size: int
    """Worst-case encoded size of everything but the value."""
    adjustments: tuple[str, ...]


def to_datums(samples: Iterable[Sample], rules: DatumRules, now_ms: int) -> Conversion:
    """Translate samples into datums, dropping (and counting) what CloudWatch would reject.

    Two series that differ only in labels that are not dimensions would become one CloudWatch
    metric: the first is sent, the others are dropped as ``dimension_collision`` (the fix is to
    add the label that tells them apart to ``dimensions``).
    """
    result = Conversion()
    dropped, adjusted, datums = result.dropped, result.adjusted, result.datums
    earliest = now_ms - MAX_PAST_SECONDS * 1000
    latest = now_ms + MAX_FUTURE_SECONDS * 1000
    builder = _SeriesBuilder(rules)
    stamps: dict[int, datetime] = {}
    seen: set[tuple[tuple[str, tuple[tuple[str, str], ...]], int]] = set()
    resolution = rules.storage_resolution
    for sample in samples:
        value = sample.value
        if math.isnan(value) or value in _INFINITIES:
            dropped["nan_or_inf"] += 1
            continue
        if not -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE:
            dropped["value_out_of_range"] += 1
            continue
        if value != 0.0 and -MIN_ABS_VALUE < value < MIN_ABS_VALUE:
            adjusted["value_underflow_sent_as_zero"] += 1
            value = 0.0
        timestamp_ms = sample.timestamp_ms if sample.timestamp_ms is not None else now_ms
        if not earliest <= timestamp_ms <= latest:
            dropped["timestamp_out_of_range"] += 1
            continue
        series = builder.series(sample)
        if (series.key, timestamp_ms) in seen:
            dropped["dimension_collision"] += 1
            result.collisions[series.name] += 1
            continue
        seen.add((series.key, timestamp_ms))
        if series.adjustments:
            adjusted.update(series.adjustments)
        stamp = stamps.get(timestamp_ms)
        if stamp is None:
            stamp = stamps[timestamp_ms] = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
        payload: dict[str, Any] = {
            "MetricName": series.name,
            "Timestamp": stamp,
            "Value": value,
            "StorageResolution": resolution,
        }
        if series.dimensions:
            payload["Dimensions"] = series.dimensions
        datums.append(Datum(payload, series.size + len(repr(value))))
    return result


class _SeriesBuilder:
    """Builds ``_Series`` entries, remembering cleaned names and values (they repeat a lot)."""

    def __init__(self, rules: DatumRules) -> None:
        self.wanted = rules.dimensions[:MAX_DIMENSIONS]
        self.cache_key = f"cloudwatch:{rules!r}"
        self.local: dict[tuple[str, tuple[tuple[str, str], ...]], _Series] = {}
        self.names: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.values: dict[str, tuple[str | None, tuple[str, ...]]] = {}

    def series(self, sample: Sample) -> _Series:
        """The entry for ``sample``: from the warm series cache, this call's, or computed."""
        shared = sample.cache
        if shared is not None:
            found = shared.get(self.cache_key)
            if isinstance(found, _Series):
                return found
        key = (sample.name, sample.labels)
        series = self.local.get(key)
        if series is None:
            series = self.local[key] = self.build(sample)
        if shared is not None:
            shared[self.cache_key] = series
        return series

    def build(self, sample: Sample) -> _Series:
        name, adjustments = self.name(sample.name, "metric_name")
        size = _FIXED_DATUM_BYTES + _encoded_length(name)
        labels = dict(sample.labels)
        dims: list[dict[str, str]] = []
        for label in self.wanted:
            raw = labels.get(label)
            if raw is None:
                continue
            value, value_adjustments = self.value(raw)
            adjustments += value_adjustments
            if value is not None:
                dim_name, name_adjustments = self.name(label, "dimension_name")
                adjustments += name_adjustments
                dims.append({"Name": dim_name, "Value": value})
                size += _DIMENSION_BYTES + _encoded_length(dim_name) + _encoded_length(value)
        key = (name, tuple((d["Name"], d["Value"]) for d in dims))
        return _Series(name, dims, key, size, adjustments)

    def name(self, raw: str, what: str) -> tuple[str, tuple[str, ...]]:
        found = self.names.get(raw)
        if found is None:
            adjusted: Counter[str] = Counter()
            found = self.names[raw] = (clean_name(raw, adjusted, what), tuple(adjusted.elements()))
        return found

    def value(self, raw: str) -> tuple[str | None, tuple[str, ...]]:
        found = self.values.get(raw)
        if found is None:
            adjusted: Counter[str] = Counter()
            found = self.values[raw] = (clean_value(raw, adjusted), tuple(adjusted.elements()))
        return found


def _encoded_length(text: str) -> int:
    """Length once URL-encoded (the query protocol's worst case): unsafe characters take 3."""
    return len(text.translate(_URL_ESCAPED))


def dimensions(sample: Sample, wanted: Sequence[str], adjusted: Counter[str]) -> list[dict[str, str]]:
    """The sample's labels named in ``wanted`` (in that order) as CloudWatch dimensions."""
    series = _SeriesBuilder(DatumRules(tuple(wanted))).build(sample)
    adjusted.update(a for a in series.adjustments if not a.startswith("metric_name"))
    return series.dimensions


def clean_name(name: str, adjusted: Counter[str], what: str) -> str:
    """A metric or dimension name CloudWatch accepts: printable ASCII, 1-255 characters."""
    text = _ascii(name, adjusted, what)
    if text.startswith(":") and what == "dimension_name":
        text = "_" + text[1:]
        adjusted[f"{what}_leading_colon"] += 1
    return _shorten(text, name, MAX_NAME_LENGTH, adjusted, what)


def clean_value(value: str, adjusted: Counter[str]) -> str | None:
    """A dimension value CloudWatch accepts, or ``None`` when nothing printable is left."""
    text = _ascii(value, adjusted, "dimension_value")
    if not text.strip():
        adjusted["dimension_blank_omitted"] += 1
        return None
    return _shorten(text, value, MAX_DIMENSION_VALUE_LENGTH, adjusted, "dimension_value")


def _ascii(text: str, adjusted: Counter[str], what: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    adjusted[f"{what}_non_ascii"] += 1
    return "".join(c if c in _PRINTABLE_ASCII else "_" for c in text)


def _shorten(text: str, original: str, limit: int, adjusted: Counter[str], what: str) -> str:
    """Cut to ``limit`` keeping distinct inputs distinct: the tail is a hash of the original."""
    if len(text) <= limit:
        return text
    adjusted[f"{what}_truncated"] += 1
    digest = hashlib.sha256(original.encode()).hexdigest()[:_HASH_CHARS]
    return f"{text[: limit - _HASH_CHARS - 1]}~{digest}"


def partition(datums: Sequence[Datum], namespace: str) -> list[list[Datum]]:
    """Pack datums, in order, into requests within the count and byte limits."""
    overhead = _REQUEST_OVERHEAD + _encoded_length(namespace)
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


def request_size(batch: Sequence[Datum], namespace: str) -> int:
    """The worst-case encoded size of one request (what ``partition`` keeps under the limit)."""
    return _REQUEST_OVERHEAD + _encoded_length(namespace) + sum(d.size for d in batch)
