"""Prometheus's protobuf exposition: varint-delimited ``io.prometheus.client.MetricFamily``
messages, read by hand on ``protowire`` (no protobuf runtime: docs/parser.md#protobuf).

Each ``Metric`` becomes the series Prometheus ingests for it (``protobufparse.go``): a counter,
gauge or untyped one series with the family's name; a summary ``_count``, ``_sum`` and one
series per quantile; a classic histogram ``_count``, ``_sum`` and its ``_bucket`` series, with a
``+Inf`` bucket added when the last is not one; with native histograms (``Histograms``), a
native histogram one series with the family's name holding a ``NativeHistogram``, then its
classic series if the job asks for them too (``protohist.py``). A line's key, what the
series cache knows it by, is the series name and ``le``/``quantile`` and the raw bytes of the
Metric's label fields: the same series gives the same key at every scrape, with no label
decoded on a warm one.

Hostile input: every length is checked against its message (``protowire.fields``), nesting is
fixed by the schema (no recursion on input), a chunk is yielded every ``LINES_PER_CHUNK`` lines
or ``CHUNK_BYTES`` of messages (even inside one histogram), and an error names the byte offset
and the family (``ParseError(reason, offset=...)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic

from ..model import Exemplar, Family, MetricType, NativeHistogram
from ..protowire import (
    I64,
    LEN,
    VARINT,
    Field,
    WireError,
    expect,
    fields,
    read_double,
    read_varint,
    scalars,
    signed64,
)
from . import grammar, protohist
from .body import CHUNK_BYTES
from .chunk import KNOWN_CONTEXT, Chunk, K, PlainTexts, add_positions
from .errors import ParseError
from .formats import Histograms, register_format

MEDIA_TYPE: Final = "application/vnd.google.protobuf"

MAX_FRAME_VARINT: Final = 5
"""The longest length prefix of a message (``binary.MaxVarintLen32``: Prometheus's
``readDelimited`` refuses longer ones)."""

LINES_PER_CHUNK: Final = CHUNK_BYTES // 4
"""Lines per chunk, at most: as many as 64 KiB of the shortest text lines (``a 1``), so that a
chunk of tiny messages costs what a chunk of text does."""

_TYPES: Final[dict[int, MetricType]] = {
    0: "counter",
    1: "gauge",
    2: "summary",
    3: "untyped",
    4: "histogram",
    5: "gaugehistogram",
}
"""client_model's ``MetricType`` enum."""

_VALUE_FIELD: Final[dict[MetricType, int]] = {
    "counter": 3,
    "gauge": 2,
    "summary": 4,
    "untyped": 5,
    "histogram": 7,
    "gaugehistogram": 7,
}
"""The ``Metric`` field that holds a family's values, per type."""

_LABEL_TAG: Final = 1 << 3 | LEN
"""``Metric.label``'s tag byte."""
_NAME_TAG: Final = 1 << 3 | LEN
_VALUE_STRING_TAG: Final = 2 << 3 | LEN
"""The tag bytes of ``LabelPair.name`` and ``LabelPair.value``."""
_VALUE_TAG: Final = 1 << 3 | I64
"""The tag byte of the ``value`` of ``Gauge``, ``Counter`` and ``Untyped``."""
_BUCKET_BYTES: Final = 32
"""What a native histogram keeps per bucket (a float object and its slot in a tuple), charged
to the memory budget as text is."""
_FORMATTED_MAX: Final = 4096
"""Bounds formatted once per parse (``le`` and ``quantile`` values repeat in every Metric)."""

_TIMESTAMP: Final[dict[int, Field]] = {1: (VARINT, "timestamp seconds"), 2: (VARINT, "timestamp nanos")}
_QUANTILE: Final[dict[int, Field]] = {1: (I64, "quantile"), 2: (I64, "quantile value")}
_SIMPLE: Final[dict[int, Field]] = {1: (I64, "value"), 2: (LEN, "exemplar"), 3: (LEN, "created_timestamp")}
"""``Gauge``, ``Counter`` and ``Untyped`` (only a counter has the exemplar and created fields)."""
_SUMMARY: Final[dict[int, Field]] = {
    1: (VARINT, "sample_count"),
    2: (I64, "sample_sum"),
    3: (LEN, "quantile"),
    4: (LEN, "created_timestamp"),
}

_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*+")

_RESERVED: Final[dict[MetricType, str]] = {"summary": "quantile", "histogram": "le", "gaugehistogram": "le"}
"""The label Prometheus adds to a type's series: the exposition may not carry it too."""


@dataclass(frozen=True)
class ProtobufFormat:
    """The protobuf exposition, reading histograms as a job asks."""

    histograms: Histograms = field(default_factory=Histograms)
    name: str = "protobuf"
    media_type: str = MEDIA_TYPE

    def chunks(
        self,
        data: bytes,
        known: Mapping[str, K],
        families: dict[Family, Family],
        strict: bool = False,
        *,
        texts: dict[str, PlainTexts] | None = None,
    ) -> Iterator[Chunk[K]]:
        """(``strict`` changes nothing: the protobuf format has no leniency to refuse; it has no
        series texts: ``texts`` is not read.)"""
        return _Reader(data, known, families, self.histograms).chunks()

    def configured(self, histograms: Histograms) -> ProtobufFormat:
        return self if histograms == self.histograms else ProtobufFormat(histograms)


PROTOBUF: Final = ProtobufFormat()
"""Native histograms read as their classic part: Prometheus 3.x without
``scrape_native_histograms``."""


class _Reader(Generic[K]):
    """One parse: the body's families, metric by metric, into chunks."""

    def __init__(
        self, data: bytes, known: Mapping[str, K], families: dict[Family, Family], histograms: Histograms
    ) -> None:
        self.data = data
        self.known = known
        self.families = families
        self.histograms = histograms
        self.native = False
        """Whether the current family's histograms are native (its first Metric decides)."""
        self.chunk: Chunk[K] = Chunk()
        self.chunk_start = 0
        self.family = Family("")
        self.raw = ""
        """The current Metric's label fields, as the lines' keys carry them."""
        self.spans: list[tuple[int, int]] = []
        self.pairs: list[tuple[str, str]] | None = None
        self.formatted: dict[float, str] = {}

    def _format(self, value: float) -> str:
        """``format_float(value)``, remembered for the parse (up to ``_FORMATTED_MAX``)."""
        text = self.formatted.get(value)
        if text is None:
            if len(self.formatted) >= _FORMATTED_MAX:
                self.formatted.clear()
            text = self.formatted[value] = format_float(value)
        return text

    def chunks(self) -> Iterator[Chunk[K]]:
        data, at, end, number = self.data, 0, len(self.data), 0
        while at < end:
            number += 1
            start = at
            try:
                size, at = read_varint(data, at, min(end, at + MAX_FRAME_VARINT))
                if size > end - at:
                    raise WireError(f"message of {size} bytes runs past the end of the body", start)
                yield from self._family(at, at + size)
            except WireError as exc:
                raise ParseError(f"metric family {number}: {exc.reason}", offset=exc.offset) from None
            at += size
        if self.chunk.values:
            yield self.chunk

    def _family(self, start: int, end: int) -> Iterator[Chunk[K]]:
        family, metrics = self._metadata(start, end)
        if not metrics:  # Prometheus skips a family without metrics
            return
        self.family = family = self.families.setdefault(family, family)
        value_field = _VALUE_FIELD[family.type]
        first = True
        for number, _, a, b, _ in fields(self.data, start, end):
            if number != 4:
                continue
            yield from self._metric(a, b, value_field, first)
            first = False
            if len(self.chunk.values) >= LINES_PER_CHUNK or b - self.chunk_start >= CHUNK_BYTES:
                yield self._next_chunk(b)

    def _next_chunk(self, at: int) -> Chunk[K]:
        chunk, self.chunk, self.chunk_start = self.chunk, Chunk(), at
        return chunk

    def _metadata(self, start: int, end: int) -> tuple[Family, int]:
        """The family's name, type, help and unit, validated, and how many metrics it has."""
        name = help_ = unit = ""
        kind = metrics = 0
        data = self.data
        for number, wire, a, b, where in fields(data, start, end):
            if number == 4:
                expect(wire, LEN, "metric", where)
                metrics += 1
            elif number in (1, 2, 5):
                expect(wire, LEN, "name, help and unit", where)
                text = _text(data, a, b)
                if number == 1:
                    name = text
                elif number == 2:
                    help_ = text
                else:
                    unit = text
            elif number == 3:
                expect(wire, VARINT, "type", where)
                kind = a
        if grammar.METRIC_NAME.fullmatch(name) is None:
            raise WireError(f"invalid metric name {name[:200]!r}", start)
        metric_type = _TYPES.get(kind)
        if metric_type is None:
            raise WireError(f"{name}: unknown metric type {signed64(kind)}", start)
        if unit and not _unit_fits(name, unit, metric_type):
            raise WireError(f"{name}: unit {unit[:200]!r} is not a suffix of the metric name", start)
        return Family(name, metric_type, help_, unit), metrics

    # -- one Metric --------------------------------------------------------------------------

    def _metric_fields(
        self, start: int, end: int, value_field: int
    ) -> tuple[list[tuple[int, int]], int | None]:
        """Read a Metric's labels (``raw``, ``spans``), and return where its value messages are
        and its timestamp (``None``: 0 or none, which proto3 cannot tell apart)."""
        data = self.data
        spans: list[tuple[int, int]] = []
        values: list[tuple[int, int]] = []
        stamp = 0
        at = start
        while at + 1 < end and data[at] == _LABEL_TAG and data[at + 1] < 0x80:  # the common layout
            a = at + 2
            at = a + data[at + 1]
            if at > end:
                at = a - 2  # let protowire.fields say what is wrong
                break
            spans.append((a, at))
        label_start, label_end = (start, at) if spans else (-1, -1)
        contiguous = True
        for number, wire, a, b, where in fields(data, at, end):
            if number == 1:
                expect(wire, LEN, "label", where)
                spans.append((a, b))
                if label_end < 0:
                    label_start = where
                elif label_end != where:
                    contiguous = False
                label_end = b
            elif number == value_field:
                expect(wire, LEN, "value", where)
                values.append((a, b))
            elif number == 6:
                expect(wire, VARINT, "timestamp_ms", where)
                stamp = signed64(a)
        self.spans = spans
        self.pairs = None
        if not spans:
            self.raw = ""
        elif contiguous:
            self.raw = data[label_start:label_end].decode("latin-1")
        else:  # labels interleaved with other fields: each with its length, unambiguous
            self.raw = "".join(f"{b - a}:{data[a:b].decode('latin-1')}" for a, b in spans)
        return values, stamp or None

    def _metric(self, start: int, end: int, value_field: int, first: bool) -> Iterator[Chunk[K]]:
        values, stamp = self._metric_fields(start, end, value_field)
        kind = self.family.type
        if kind in ("counter", "gauge", "untyped"):
            self._simple(values, stamp)
        elif kind == "summary":
            yield from self._summary(values, stamp)
        else:
            if first:
                self.native = self.histograms.native and protohist.is_native(self.data, values)
            yield from self._histogram(values, stamp)

    def _simple(self, values: list[tuple[int, int]], stamp: int | None) -> None:
        data = self.data
        if len(values) == 1 and values[0][1] - values[0][0] == 9 and data[values[0][0]] == _VALUE_TAG:
            self._line(self.family.name, "", read_double(data, values[0][0] + 1), stamp, None)
            return
        found: dict[int, Any] = {}
        for a, b in values:
            scalars(data, a, b, _SIMPLE, found)
        exemplar = None
        if self.family.type == "counter":
            exemplar = self._exemplar(*found[2]) if 2 in found else None
            if 3 in found:  # checked; Prometheus 2.42 and 3.x ingest nothing of it
                timestamp_ms(data, *found[3])
        self._line(self.family.name, "", found.get(1, 0.0), stamp, exemplar)

    def _summary(self, values: list[tuple[int, int]], stamp: int | None) -> Iterator[Chunk[K]]:
        data = self.data
        found: dict[int, Any] = {}
        for a, b in values:
            scalars(data, a, b, _SUMMARY, found)
        if 4 in found:
            timestamp_ms(data, *found[4])
        count, total = found.get(1, 0), found.get(2, 0.0)
        name = self.family.name
        self._line(name + "_count", "", float(count), stamp, None)
        self._line(name + "_sum", "", total, stamp, None)
        for a, b in values:
            for number, _, c, d, _ in fields(data, a, b):
                if number == 3:
                    quantile, value = _quantile(data, c, d)
                    self._line(name, "quantile=" + self._format(quantile), value, stamp, None)
                    if len(self.chunk.values) >= LINES_PER_CHUNK:
                        yield self._next_chunk(d)

    def _histogram(self, values: list[tuple[int, int]], stamp: int | None) -> Iterator[Chunk[K]]:
        data = self.data
        name = self.family.name
        if self.native:
            gauge = self.family.type == "gaugehistogram"
            histogram, exemplar = protohist.native(data, values, self._exemplar, gauge)
            self._line(name, "", math.nan, stamp, exemplar, histogram=histogram)
            if not self.histograms.classic:
                return
        count, total = protohist.totals(data, values)
        self._line(name + "_count", "", count, stamp, None)
        self._line(name + "_sum", "", total, stamp, None)
        bucket = name + "_bucket"
        infinite = False
        for bound, cumulative, exemplar, end in protohist.buckets(data, values, self._exemplar):
            infinite = bound == protohist.INF
            self._line(bucket, "le=" + self._format(bound), cumulative, stamp, exemplar)
            if len(self.chunk.values) >= LINES_PER_CHUNK:
                yield self._next_chunk(end)
        if not infinite:
            self._line(bucket, "le=+Inf", count, stamp, None)

    # -- lines ---------------------------------------------------------------------------------

    def _line(
        self,
        name: str,
        extra: str,
        value: float,
        stamp: int | None,
        exemplar: Exemplar | None,
        *,
        histogram: NativeHistogram | None = None,
    ) -> None:
        """Add a sample line: series ``name`` with the Metric's labels and ``extra``
        (``le=0.5``; ``""`` for none)."""
        chunk = self.chunk
        key = f"{name}\x00{extra}\x00{self.raw}"
        at = len(chunk.values)
        chunk.keys.append(key)
        chunk.values.append(value)
        entry = self.known.get(key)
        if entry is not None and entry[KNOWN_CONTEXT] is self.family:
            chunk.known.append(entry)
        else:
            chunk.known.append(None)
            new = chunk.parsed
            add_positions(new, at, at + 1)
            new.names.append(name)
            new.families.append(self.family)
            new.contexts.append(self.family)
            pairs = self._labels()
            if extra:
                label, _, label_value = extra.partition("=")
                pairs = [*pairs, (label, label_value)]
            new.labels.append(pairs)  # type: ignore[arg-type]
            chunk.label_sets += 1
            chunk.text_bytes += len(key)
        if stamp is not None or chunk.timestamps is not None:
            if chunk.timestamps is None:
                chunk.timestamps = [None] * at
            chunk.timestamps.append(stamp)
        if exemplar is not None or chunk.exemplars is not None:
            if chunk.exemplars is None:
                chunk.exemplars = [None] * at
            chunk.exemplars.append(exemplar)
        if histogram is not None or chunk.histograms is not None:
            if chunk.histograms is None:
                chunk.histograms = [None] * at
            chunk.histograms.append(histogram)
            if histogram is not None:  # its buckets: a float and a tuple slot each
                chunk.text_bytes += _BUCKET_BYTES * histogram.buckets

    def _labels(self) -> list[tuple[str, str]]:
        """The current Metric's label pairs (a fresh list: the caller's finisher may sort it),
        validated, empty values dropped; decoded once per Metric."""
        if self.pairs is None:
            self.pairs = _pairs(self.data, self.spans, _RESERVED.get(self.family.type))
        return list(self.pairs)

    def _exemplar(self, start: int, end: int) -> Exemplar:
        data = self.data
        spans: list[tuple[int, int]] = []
        value = 0.0
        stamp = None
        for number, wire, a, b, where in fields(data, start, end):
            if number == 1:
                expect(wire, LEN, "exemplar label", where)
                spans.append((a, b))
            elif number == 2:
                expect(wire, I64, "exemplar value", where)
                value = read_double(data, a)
            elif number == 3:
                expect(wire, LEN, "exemplar timestamp", where)
                stamp = timestamp_ms(data, a, b)
        pairs = _pairs(data, spans, None)
        self.chunk.label_sets += 1
        self.chunk.labels += len(pairs)
        self.chunk.text_bytes += sum(b - a for a, b in spans)
        return Exemplar(tuple(sorted(pairs)), value, stamp)


# -- fields ------------------------------------------------------------------------------------


def _text(data: bytes, start: int, end: int) -> str:
    try:
        return data[start:end].decode()
    except UnicodeDecodeError as exc:
        raise WireError("invalid UTF-8 in a string", start + exc.start) from None


def _pairs(data: bytes, spans: list[tuple[int, int]], reserved: str | None) -> list[tuple[str, str]]:
    """The label pairs of the ``LabelPair`` messages at ``spans``: names checked (legacy
    syntax, each once, neither ``__name__`` nor the type's own ``reserved`` label), values
    UTF-8; pairs with an empty value dropped, as Prometheus drops them."""
    pairs = []
    names = set()
    for start, end in spans:
        name, value = _pair(data, start, end)
        if name in names or name in ("__name__", reserved) or _LABEL_NAME.fullmatch(name) is None:
            if _LABEL_NAME.fullmatch(name) is None:
                raise WireError(f"invalid label name {name[:200]!r}", start)
            raise WireError(f'label name "{name}" is not unique', start)
        names.add(name)
        if value:
            pairs.append((name, value))
    return pairs


def _pair(data: bytes, start: int, end: int) -> tuple[str, str]:
    """A ``LabelPair``'s name and value."""
    size = data[start + 1] if end - start >= 4 and data[start] == _NAME_TAG else 0x80
    at = start + 2 + size
    if size < 0x80 and at + 2 <= end and data[at] == _VALUE_STRING_TAG and at + 2 + data[at + 1] == end:
        return _text(data, start + 2, at), _text(data, at + 2, end)  # the common layout
    name = value = ""
    for number, wire, a, b, where in fields(data, start, end):
        if number in {1, 2}:
            expect(wire, LEN, "label name and value", where)
            if number == 1:
                name = _text(data, a, b)
            else:
                value = _text(data, a, b)
    return name, value


def timestamp_ms(data: bytes, start: int, end: int) -> int:
    """A ``google.protobuf.Timestamp`` in ms, as Prometheus converts it (seconds * 1000 +
    nanos / 1e6, truncated)."""
    found = scalars(data, start, end, _TIMESTAMP, {})
    seconds, nanos = signed64(found.get(1, 0)), signed64(found.get(2, 0))
    if not -(1 << 31) <= nanos < 1 << 31:
        raise WireError(f"timestamp nanos {nanos} out of range", start)
    stamp = seconds * 1000 + int(nanos / 1_000_000)
    if not -(1 << 63) <= stamp < 1 << 63:
        raise WireError(f"timestamp {seconds}s is beyond int64 milliseconds", start)
    return stamp


def _quantile(data: bytes, start: int, end: int) -> tuple[float, float]:
    found = scalars(data, start, end, _QUANTILE, {})
    return found.get(1, 0.0), found.get(2, 0.0)


def _unit_fits(name: str, unit: str, kind: MetricType) -> bool:
    """Prometheus 3.x's rule: a unit is a ``_``-separated suffix of the name (before
    ``_total`` for a counter)."""
    stem = name[: -len("_total")] if kind == "counter" and name.endswith("_total") else name
    return stem.endswith("_" + unit)


# -- floats as Prometheus writes them in le and quantile ------------------------------------------


def format_float(value: float) -> str:
    """``value`` as Prometheus's ``formatOpenMetricsFloat`` writes it: Go's
    ``strconv.FormatFloat(v, 'g', -1, 64)``, with ``.0`` added when there is neither a dot nor
    an exponent. Go writes the shortest digits that read back as ``v`` (those of Python's
    ``repr``), in exponent form (two digits at least) when the exponent is below -4 or 6 and
    more.

    >>> [format_float(v) for v in (0.5, 1, 100000, 1e6, 1e-05, 0.0001, 123456789.0, float("inf"))]
    ['0.5', '1.0', '100000.0', '1e+06', '1e-05', '0.0001', '1.23456789e+08', '+Inf']
    """
    if math.isnan(value):
        return "NaN"
    if value in (protohist.INF, -protohist.INF):
        return "+Inf" if value > 0 else "-Inf"
    text = _go_g(value)
    return text if "." in text or "e" in text else text + ".0"


def _go_g(value: float) -> str:
    sign = "-" if value < 0 or (value == 0 and str(value)[0] == "-") else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    if not digits:
        return sign + "0"
    power = point - 1
    if power < -4 or power >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


register_format(PROTOBUF)
