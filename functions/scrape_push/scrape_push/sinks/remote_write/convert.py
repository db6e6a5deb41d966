"""Pure translation of samples into Remote Write series, batches and metadata.

Nothing here touches the network. ``to_series`` groups the cycle's samples by series (labels
encoded once per series, as a ``series_head``, and kept by the sink by ``SeriesRef``), orders
each series' samples by timestamp and drops (counting) what Remote Write forbids; ``partition``
packs the series into batches of at most ``max_samples_per_send`` samples, chained where a
series spans batches so that its samples are sent in order; ``metadata`` picks the families
Prometheus would describe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not, itemgetter
from typing import Final, TypeVar

from ... import native
from ...model import Family, Sample, SeriesRef
from .encode import (
    HEAD_STAMPS,
    WIRE_API,
    SampleEncoder,
    TimedValue,
    encode_heads,
    encode_metadata,
    encode_series,
    head_labels,
)
from .limits import MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS

SYNTHETIC_FAMILIES = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling"}
)
"""Prometheus sends metadata only for families a target exposes, not for ``up``/``scrape_*``."""

EncodedSeries = tuple[bytes, list[TimedValue]]
"""One series: its encoded ``TimeSeries.labels`` and its samples in timestamp order."""

Encoding = bytes | str
"""A series' ``series_head`` (its encoded ``TimeSeries.labels`` within), or why it is not sent
(a drop reason)."""

T = TypeVar("T")

_KERNEL: Final = native.load("wire", WIRE_API)
"""The compiled wire kernel (``native/wire.c``), or ``None``: the pure-Python passes."""

_SERIES = attrgetter("series")
_TIMESTAMP = attrgetter("timestamp_ms")
_FAMILY = attrgetter("family")


@dataclass
class Columns:
    """One sample per series, each at a time in ``HEAD_STAMPS`` (the common case, without a
    tuple or a list per series): the series' heads (``series_head``) and their samples, in
    the same order."""

    heads: list[bytes]
    samples: Sequence[Sample]
    start: int = 0
    stop: int | None = None
    """The part of them a batch sends: taken only when its request is encoded, so that the
    batches of a cycle waiting to be sent hold no copies of the cycle's columns."""

    def __len__(self) -> int:
        return len(range(len(self.heads))[self.start : self.stop])

    def taken(self) -> tuple[list[bytes], Sequence[Sample]]:
        """The heads and samples of the part."""
        return self.heads[self.start : self.stop], self.samples[self.start : self.stop]


@dataclass
class SeriesSet:
    """A cycle's series as Remote Write sends them, and every sample not sent, counted by
    reason. ``columns`` holds the series instead of ``series`` when every series has exactly
    one sample."""

    series: list[EncodedSeries] = field(default_factory=list)
    samples: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    families: list[Family] = field(default_factory=list)
    columns: Columns | None = None


@dataclass
class Batch:
    """At most ``max_samples_per_send`` samples: ``(labels, points)`` chunks of series, or a
    slice of ``Columns``."""

    entries: list[EncodedSeries] = field(default_factory=list)
    samples: int = 0
    columns: Columns | None = None


def batches(found: SeriesSet, max_samples: int) -> list[list[Batch]]:
    """``found`` packed into chains of batches (see ``partition``)."""
    columns = found.columns
    if columns is None:
        return partition(found.series, max_samples)
    parts = (
        Columns(columns.heads, columns.samples, i, i + max_samples)
        for i in range(0, len(columns), max_samples)
    )
    return [[Batch([], len(part), part)] for part in parts]


def to_series(
    samples: Sequence[Sample],
    known: dict[SeriesRef, Encoding],
    encode: Callable[[Sequence[Sample]], list[Encoding]],
    before: Sequence[bytes] = (),
) -> SeriesSet:
    """Group samples by series, in first-seen order, dropping what Remote Write forbids.
    ``known`` holds each series' encoding by ref (its ``series_head``, or why it is not sent);
    ``encode`` makes the encodings of series it lacks (which are then kept there), several at a
    time. ``before`` is the heads of an earlier cycle known to be distinct (its ``Columns``):
    the heads of a cycle that repeats them are, without a set of them (``_Distinct``).

    A cycle whose series have one sample each, at times in ``HEAD_STAMPS`` (a warm scrape's)
    takes C-level passes over the samples and makes one list: the series' heads. The passes go
    a ``TILE`` of samples at a time, all of them over one tile before the next; with the wire
    kernel (``_KERNEL``) a tile of known series is one pass of its ``known``."""
    dropped: Counter[str] = Counter()
    heads: list[bytes] = []
    sent: list[Sample] | None = None
    """The samples sent, once some are not: ``samples`` otherwise."""
    stamps: set[int] = set()
    distinct = _Distinct(before)
    runs: list[Family] = []
    for start in range(0, len(samples), TILE):
        tile = samples[start : start + TILE]
        found: list[Encoding | None] | None = None
        if _KERNEL is not None:  # a tile of known series: the passes below in one
            found = _KERNEL.known(tile, known, runs, stamps, Sample)
        if found is None:
            found = list(map(known.get, map(_SERIES, tile)))
            if set(map(type, found)) != _BYTES_ONLY:
                tile, found = _encoded(tile, found, known, encode, dropped)
                if sent is None:
                    sent = list(samples[:start])
            stamps.update(map(_TIMESTAMP, tile))
            families = list(map(_FAMILY, tile))
            runs += compress(families, map(is_not, families, chain((None,), families)))
        if sent is not None:
            sent += tile
        distinct.add(heads, found)  # type: ignore[arg-type]
        heads += found  # type: ignore[arg-type]
    kept = samples if sent is None else sent
    outside = bool(stamps) and (min(stamps) not in HEAD_STAMPS or max(stamps) not in HEAD_STAMPS)
    if outside or not distinct.all(heads):
        return _grouped(kept, list(map(head_labels, heads)), dropped)
    families = list(dict(zip(map(id, runs), runs, strict=True)).values())
    return SeriesSet([], len(heads), dropped, families, Columns(heads, kept))


class _Distinct:
    """Whether a cycle's heads, added a tile at a time, are all distinct: a set of them, once
    they stop repeating the ``before`` heads (distinct), which a warm cycle does to the last tile
    (a pass of pointer compares instead of a 500,000-head set on a fleet: docs/performance.md)."""

    __slots__ = ("before", "seen")

    def __init__(self, before: Sequence[bytes]) -> None:
        self.before = before
        self.seen: set[bytes] | None = None
        """The heads so far, once they differ from ``before``."""

    def add(self, heads: list[bytes], tile: list[bytes]) -> None:
        """Note ``tile``, the heads that follow ``heads``."""
        seen = self.seen
        if seen is None:
            start = len(heads)
            if tile == self.before[start : start + len(tile)]:
                return
            seen = self.seen = set(heads)
        seen.update(tile)

    def all(self, heads: list[bytes]) -> bool:
        """Whether ``heads``, all of them added, are distinct (a part of ``before`` is)."""
        return self.seen is None or len(self.seen) == len(heads)


TILE = 2048
"""Samples ``to_series`` looks up and checks at a time: a tile's samples and heads stay in the
CPU's cache across its passes over them. A fleet's cycle (500 targets of 1,000 series) is larger
than the cache: each pass over the whole of it read them from memory again (docs/performance.md)."""

_BYTES_ONLY = {bytes}


def _encoded(
    tile: Sequence[Sample],
    found: list[Encoding | None],
    known: dict[SeriesRef, Encoding],
    encode: Callable[[Sequence[Sample]], list[Encoding]],
    dropped: Counter[str],
) -> tuple[Sequence[Sample], list[Encoding | None]]:
    """A tile's samples and heads once its new series are encoded (and kept in ``known``), without
    the samples of series not sent, counted in ``dropped`` by reason."""
    if None in found:
        missing = list(compress(range(len(found)), map(is_, found, repeat(None))))
        new = tile if len(missing) == len(found) else list(map(tile.__getitem__, missing))
        made = encode(new)
        known.update(zip(map(_SERIES, new), made, strict=True))
        if new is tile:
            found = made  # type: ignore[assignment]
        else:
            for index, encoding in zip(missing, made, strict=True):
                found[index] = encoding
    if set(map(type, found)) == _BYTES_ONLY:
        return tile, found
    sent = [type(head) is bytes for head in found]
    dropped.update(str(head) for head in found if type(head) is not bytes)
    return list(compress(tile, sent)), list(compress(found, sent))


def _grouped(samples: Sequence[Sample], labels: list[bytes], dropped: Counter[str]) -> SeriesSet:
    """The general case: several samples of a series, or timestamps out of range."""
    result = SeriesSet(dropped=dropped)
    groups: dict[bytes, list[TimedValue]] = {}
    families: dict[Family, None] = {}
    last_family: Family | None = None
    for sample, encoded in zip(samples, labels, strict=True):
        stamp = sample.timestamp_ms
        if not MIN_TIMESTAMP_MS <= stamp <= MAX_TIMESTAMP_MS:
            dropped["timestamp_out_of_range"] += 1
            continue
        point = (stamp, sample.value)
        points = groups.get(encoded)
        if points is None:
            groups[encoded] = [point]
        else:
            points.append(point)
        family = sample.family
        if family is not last_family:
            families[family] = None
            last_family = family
    accepted = 0
    for labels_bytes, grouped in groups.items():
        points = in_order(grouped, dropped) if len(grouped) > 1 else grouped
        accepted += len(points)
        result.series.append((labels_bytes, points))
    result.samples = accepted
    result.families = list(families)
    return result


def in_order(points: list[TimedValue], dropped: Counter[str]) -> list[TimedValue]:
    """A series' samples by timestamp; of several at one timestamp the last scraped is kept
    (a receiver rejects the whole request for a duplicate timestamp)."""
    ordered = sorted(points, key=lambda p: p[0])
    kept: list[TimedValue] = []
    for point in ordered:
        if kept and kept[-1][0] == point[0]:
            kept[-1] = point
            dropped["duplicate_timestamp"] += 1
        else:
            kept.append(point)
    return kept


def partition(series: Sequence[EncodedSeries], max_samples: int) -> list[list[Batch]]:
    """Pack series into batches of at most ``max_samples`` samples, grouped into chains.

    Batches of different chains share no series and may be sent concurrently; the batches of
    one chain must be sent in order (a series too long for one batch continues in the next).
    """
    chains: list[list[Batch]] = []
    chain: list[Batch] = []
    entries: list[EncodedSeries] = []
    count = 0
    if sum(map(len, map(itemgetter(1), series))) == len(series):  # one sample each: plain slices
        return [
            [Batch(list(series[i : i + max_samples]), len(series[i : i + max_samples]))]
            for i in range(0, len(series), max_samples)
        ]
    for labels, points in series:
        size = len(points)
        if count + size < max_samples:
            entries.append((labels, points))
            count += size
            continue
        start = 0
        while size - start > max_samples - count:  # the series continues in the next batch
            room = max_samples - count
            entries.append((labels, points[start : start + room]))
            start += room
            chain.append(Batch(entries, max_samples))
            entries, count = [], 0
        entries.append((labels, points[start:] if start else points))
        count += size - start
        if count == max_samples:  # full, and the next series starts afresh: a new chain
            chain.append(Batch(entries, count))
            chains.append(chain)
            chain, entries, count = [], [], 0
    if entries:
        chain.append(Batch(entries, count))
    if chain:
        chains.append(chain)
    return chains


def metadata(families: Iterable[Family]) -> list[bytes]:
    """Encoded ``MetricMetadata`` for each family the targets declared (type, help or unit)."""
    out: dict[tuple[str, str, str, str], bytes] = {}
    for family in families:
        if not family.name or family.name in SYNTHETIC_FAMILIES:
            continue
        if family.type in ("untyped", "unknown") and not family.help and not family.unit:
            continue
        key = (family.name, family.type, family.help, family.unit)
        if key not in out:
            out[key] = encode_metadata(family)
    return list(out.values())


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` in consecutive pieces of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def encode_batch(batch: Batch, samples: SampleEncoder) -> bytes:
    """The uncompressed ``WriteRequest`` of one batch, whichever form holds its series."""
    columns = batch.columns
    if columns is None:
        return encode_series(batch.entries, samples)
    return encode_heads(*columns.taken())
