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
from urllib.parse import quote

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


def to_datums(samples: Iterable[Sample], rules: DatumRules, now_ms: int) -> Conversion:
    """Translate samples into datums, dropping (and counting) what CloudWatch would reject.

    Two series that differ only in labels that are not dimensions would become one CloudWatch
    metric: the first is sent, the others are dropped as ``dimension_collision`` (the fix is to
    add the label that tells them apart to ``dimensions``).
    """
    result = Conversion()
    dropped, adjusted = result.dropped, result.adjusted
    earliest = now_ms - MAX_PAST_SECONDS * 1000
    latest = now_ms + MAX_FUTURE_SECONDS * 1000
    names: dict[str, str] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...], int]] = set()
    for sample in samples:
        value = sample.value
        if math.isnan(value) or math.isinf(value):
            dropped["nan_or_inf"] += 1
            continue
        if abs(value) > MAX_ABS_VALUE:
            dropped["value_out_of_range"] += 1
            continue
        if value != 0.0 and abs(value) < MIN_ABS_VALUE:
            adjusted["value_underflow_sent_as_zero"] += 1
            value = 0.0
        timestamp_ms = sample.timestamp_ms if sample.timestamp_ms is not None else now_ms
        if not earliest <= timestamp_ms <= latest:
            dropped["timestamp_out_of_range"] += 1
            continue
        name = names.get(sample.name)
        if name is None:
            name = names[sample.name] = clean_name(sample.name, adjusted, "metric_name")
        dims = dimensions(sample, rules.dimensions, adjusted)
        key = (name, tuple((d["Name"], d["Value"]) for d in dims), timestamp_ms)
        if key in seen:
            dropped["dimension_collision"] += 1
            result.collisions[name] += 1
            continue
        seen.add(key)
        result.datums.append(_datum(name, dims, value, timestamp_ms, rules.storage_resolution))
    return result


def dimensions(sample: Sample, wanted: Sequence[str], adjusted: Counter[str]) -> list[dict[str, str]]:
    """The sample's labels named in ``wanted`` (in that order) as CloudWatch dimensions."""
    labels = dict(sample.labels)
    out: list[dict[str, str]] = []
    for label in wanted[:MAX_DIMENSIONS]:
        raw = labels.get(label)
        if raw is None:
            continue
        value = clean_value(raw, adjusted)
        if value is not None:
            out.append({"Name": clean_name(label, adjusted, "dimension_name"), "Value": value})
    return out


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
    if all(c in _PRINTABLE_ASCII for c in text):
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


def _datum(name: str, dims: list[dict[str, str]], value: float, timestamp_ms: int, resolution: int) -> Datum:
    payload: dict[str, Any] = {
        "MetricName": name,
        "Timestamp": datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC),
        "Value": value,
        "StorageResolution": resolution,
    }
    size = _MEMBER_PREFIX + len("MetricName=&") + len(quote(name, safe=""))
    size += _MEMBER_PREFIX + len("Timestamp=2000-01-01T00:00:00.000Z&")
    size += _MEMBER_PREFIX + len("Value=&") + len(repr(value))
    size += _MEMBER_PREFIX + len("StorageResolution=60&")
    if dims:
        payload["Dimensions"] = dims
        for d in dims:
            size += 2 * (_MEMBER_PREFIX + len("Dimensions.member.30.Name=&"))
            size += len(quote(d["Name"], safe="")) + len(quote(d["Value"], safe=""))
    return Datum(payload, size)


def partition(datums: Sequence[Datum], namespace: str) -> list[list[Datum]]:
    """Pack datums, in order, into requests within the count and byte limits."""
    overhead = _REQUEST_OVERHEAD + len(quote(namespace, safe=""))
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
    return _REQUEST_OVERHEAD + len(quote(namespace, safe="")) + sum(d.size for d in batch)
