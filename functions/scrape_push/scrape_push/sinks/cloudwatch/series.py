"""What a series becomes in CloudWatch: its cleaned name, dimensions and encoded size.

``SeriesBuilder`` computes a ``Series`` once per series and sink (kept by ``SeriesRef`` across
warm invocations, until the scrape stage says the series is gone); ``clean_name``/``clean_value``
make names and dimension values acceptable to CloudWatch, predictably.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ...model import Labels, SeriesRef
from ..base import SeriesMemory
from .limits import MAX_DIMENSION_VALUE_LENGTH, MAX_DIMENSIONS, MAX_NAME_LENGTH

if TYPE_CHECKING:
    from .outputs import Out

_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))
_HASH_CHARS = 8
# The query-protocol encoding is the most verbose of the protocols the SDK may use (query,
# JSON, CBOR), so sizing requests by it keeps every protocol under the byte limit.
MEMBER_PREFIX = len("MetricData.member.1000.")
_FIXED_DATUM_BYTES = (
    4 * MEMBER_PREFIX
    + len("MetricName=&")
    + len("Timestamp=2000-01-01T00:00:00.000Z&")
    + len("Value=&")
    + len("StorageResolution=60&")
)
_DIMENSION_BYTES = 2 * (MEMBER_PREFIX + len("Dimensions.member.30.Name=&"))
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_URL_ESCAPED = {c: "%XX" for c in range(0x80) if chr(c) not in _URL_SAFE}
_NAMESPACE_UNSAFE = re.compile(r"[^A-Za-z0-9._/#:\- ]")

MEMO_SIZE: Final = 65536
"""Cleaned names, values and namespaces a builder remembers at most; beyond, it starts afresh."""

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]
"""``(namespace, metric name, dimension pairs)``: one CloudWatch metric."""


@dataclass(frozen=True, slots=True)
class Series:
    """What a series always becomes for one sink: computed once, reused for every sample."""

    name: str
    namespace: str
    dimensions: list[dict[str, str]]
    rollups: tuple[list[dict[str, str]], ...]
    key: SeriesKey
    key_hash: int
    """``hash(key)``, computed once: the collision check runs for every sample."""
    size: int
    """Worst-case encoded size of everything but the value (primary dimension set)."""
    rollup_sizes: tuple[int, ...]
    adjustments: tuple[str, ...]


class SeriesBuilder:
    """Builds ``Series`` entries for one sink, remembering cleaned names and values."""

    def __init__(self, namespace: str, namespace_per_job: bool = False) -> None:
        self.namespace = namespace
        self.namespace_per_job = namespace_per_job
        self.by_ref: SeriesMemory[Series] = SeriesMemory()
        """The ``Series`` of each output that is its sample's only one, by the sample's ref."""
        self.local: dict[tuple[str, Labels, tuple[str, ...], tuple[tuple[str, ...], ...]], Series] = {}
        """This cycle's ``Series`` by what they are made of (derived outputs have no ref)."""
        self.names: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.values: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        self.namespaces: dict[str, str] = {}

    def new_cycle(self, offered: int) -> None:
        """Start a cycle of ``offered`` samples: what it remembers stays within its bounds."""
        self.by_ref.bound(offered)
        self.local = {}
        for memo in (self.names, self.values, self.namespaces):
            if len(memo) > MEMO_SIZE:
                memo.clear()

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        self.by_ref.forget(refs)

    def series(self, out: Out) -> Series:
        """The entry for ``out``: remembered by its sample's ref, met before in this cycle, or
        computed."""
        ref = out.ref
        if ref is not None:
            found = self.by_ref.entries.get(ref)
            if found is not None:
                return found
        dims = out.settings.dimensions
        if out.extra is not None and out.extra not in dims:
            dims = (*dims, out.extra)
        key = (out.name, out.labels, dims, out.settings.rollups)
        series = self.local.get(key)
        if series is None:
            series = self.local[key] = self.build(out.name, out.labels, dims, out.settings.rollups)
        if ref is not None:
            self.by_ref.entries[ref] = series
        return series

    def build(
        self, metric: str, labels: Labels, wanted: Sequence[str], rollups: Sequence[Sequence[str]] = ()
    ) -> Series:
        name, adjustments = self.name(metric, "metric_name")
        fixed = _FIXED_DATUM_BYTES + encoded_length(name)
        found = dict(labels)
        namespace = self.namespace
        if self.namespace_per_job:
            namespace = self.job_namespace(found.get("job", ""))
        dims, size, adjustments = self.dimensions(found, wanted[:MAX_DIMENSIONS], adjustments)
        rolled: list[list[dict[str, str]]] = []
        sizes: list[int] = []
        for rollup in rollups:
            rollup_dims, rollup_size, _ = self.dimensions(found, rollup, ())
            rolled.append(rollup_dims)
            sizes.append(fixed + rollup_size)
        key = (namespace, name, tuple((d["Name"], d["Value"]) for d in dims))
        return Series(
            name, namespace, dims, tuple(rolled), key, hash(key), fixed + size, tuple(sizes), adjustments
        )

    def dimensions(
        self, labels: dict[str, str], wanted: Sequence[str], adjustments: tuple[str, ...]
    ) -> tuple[list[dict[str, str]], int, tuple[str, ...]]:
        dims: list[dict[str, str]] = []
        size = 0
        for label in wanted:
            raw = labels.get(label)
            if raw is None:
                continue
            value, value_adjustments = self.value(raw)
            adjustments += value_adjustments
            if value is not None:
                dim_name, name_adjustments = self.name(label, "dimension_name")
                adjustments += name_adjustments
                dims.append({"Name": dim_name, "Value": value})
                size += _DIMENSION_BYTES + encoded_length(dim_name) + encoded_length(value)
        return dims, size, adjustments

    def job_namespace(self, job: str) -> str:
        found = self.namespaces.get(job)
        if found is None:
            cleaned = _NAMESPACE_UNSAFE.sub("_", job)[: MAX_NAME_LENGTH - len(self.namespace) - 1]
            found = self.namespaces[job] = f"{self.namespace}/{cleaned}" if cleaned else self.namespace
        return found

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


def encoded_length(text: str) -> int:
    """Length once URL-encoded (the query protocol's worst case): unsafe characters take 3."""
    return len(text.translate(_URL_ESCAPED))


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
