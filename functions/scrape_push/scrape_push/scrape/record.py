"""The staleness record: which series each target had, kept in the state table so that a new
execution environment (a cold start, a redeploy, a new configuration, a shard moved) still marks
stale what the one before it tracked.

One item per job group (and shard: ``record_key``), read once per pipeline (its first cycle,
with the records of the removed shards it adopts, in one BatchGetItem) and written after a cycle
only when some target's tracked series or the set of targets changed since, or once a day to
keep its TTL ahead: in the BatchWriteItem of the series counts the caller writes after the cycle
(a shard's; the planner's own cycle with a shard queue: ``statetable.WriteBatch``), else in a
PutItem that a cycle which read the record leaves to the next. At most one request a cycle more
than without a record, none in a steady one.

The item holds, per target (job, target labels, external labels), the final name and labels of
each tracked series: a marker must carry the full label set (Remote Write has no other way to
name a series), and a cold process has nothing else to take them from. It is JSON, one line per
target, compressed with zstd: ``[key, [[name, [[label, value], ...]], ...]]``, followed, for a
target with native histogram series (whose marker is a histogram), by the indexes of those with
integer counts and, if any, of those with float counts: ``[key, series, [3, 4], [9]]``. A line
of a target without them is as this module wrote it before native histograms (no third
element), and such lines read as before; a record with the longer lines is unreadable to a
build older than them (it ignores the record once, with an error).

Targets of one job share most label text: 1,000 targets of node_exporter's 1,000 series come to
120 MB of JSON and 1.2 MB compressed (bench/bench_staleness_record.py), one such target alone to
5.2 KB; one item holds about 300 of them. Past ``MAX_RECORD_BYTES`` (DynamoDB's item limit) the
record keeps the targets that fit, in their order, and says how many it left out: those get no
markers after a cold start (their series end by Prometheus's 5-minute lookback instead).
Sharding a large job group gives each shard an item of its own (``record_key``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import cramjam

from ..deadline import Deadline
from ..model import STALE_FLOAT_HISTOGRAM, STALE_HISTOGRAM, Labels, SeriesRef
from ..statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE, VERSION_ATTRIBUTE, Items, TableError, WriteBatch
from ..targets import Target
from .series import SeriesCache
from .stale import EndedTarget, Marker, Seed, SeriesId, Tracker, report_markers, seed_markers

MAX_RECORD_BYTES: Final = 380_000
"""DynamoDB: an item is at most 400 KB, attribute names and values together ("Service, account,
and table quotas in Amazon DynamoDB"); this leaves room for the key and the other attributes."""
MAX_RAW_BYTES: Final = 64 * 1024 * 1024
"""The most label text a record is made of (what past it is left out without being compressed:
far more than compresses into one item) and may inflate to when read (a corrupt or foreign item
is refused)."""
REFRESH_MS: Final = 86_400_000
"""An unchanged record is rewritten daily, so that its TTL stays ahead."""
ITEM_TTL_SECONDS: Final = 8 * 86400
"""DynamoDB deletes a record eight days after its last write (the job group went away)."""
ZSTD_LEVEL: Final = 3
"""zstd's default: level 19 saves 5% for 2,000 times the CPU on label text."""
_VERSION: Final = 1
_RECORD = "record"
_RAW = "raw_bytes"

TargetKey = str
"""A target as the record names it: its job, target labels and external labels (JSON)."""


def target_key(target: Target) -> TargetKey:
    return json.dumps([target.job, target.labels, target.external_labels], separators=(",", ":"))


def record_key(group: str, shard: str | None = None) -> str:
    """The item key of a job group's record (hashed: bounded, no job names); a shard's record
    adds its id."""
    digest = hashlib.sha256(group.encode()).hexdigest()[:32]
    return f"stale{_VERSION}#{digest}" if shard is None else f"stale{_VERSION}#{digest}#{shard}"


@dataclass(frozen=True)
class RecordedTarget:
    """A target the record names, and the series its last scrape tracked."""

    job: str
    labels: Labels
    external_labels: Labels
    series: Seed


@dataclass
class RecordReport:
    """What the record did in one cycle (the summary's ``staleness_record``)."""

    read: bool = False
    written_bytes: int = 0
    targets: int = 0
    targets_left_out: int = 0
    """Targets the record could not keep (over ``MAX_RECORD_BYTES``)."""
    errors: list[str] = field(default_factory=list)
    """The table could not be read or written (markers after a cold start may be missing)."""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "written_bytes": self.written_bytes,
            "targets": self.targets,
            "targets_left_out": self.targets_left_out,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


def encode_target(key: TargetKey, series: Sequence[tuple[SeriesId, Marker]]) -> bytes:
    """One target's line: its key, then each series as its name and label pairs (the tuples
    as they are: the C encoder writes them as arrays), then the indexes of its native
    histogram series, if it has any (the module docstring)."""
    ids = [found for found, _ in series]
    whole = [index for index, (_, marker) in enumerate(series) if marker is STALE_HISTOGRAM]
    floats = [index for index, (_, marker) in enumerate(series) if marker is STALE_FLOAT_HISTOGRAM]
    line = [key, ids, whole, floats] if floats else [key, ids, whole] if whole else [key, ids]
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode()


def decode(raw: bytes) -> dict[TargetKey, RecordedTarget]:
    """The targets of a record's lines; ``ValueError`` when it is not one this module wrote."""
    found: dict[TargetKey, RecordedTarget] = {}
    for line in raw.splitlines():
        key, series, *natives = json.loads(line)
        job, labels, external = json.loads(key)
        if not isinstance(job, str):
            raise ValueError("a job name expected")
        seed: Seed = {(_name(name), _labels(pairs)): None for name, pairs in series}
        if natives:
            _mark(seed, natives)
        found[key] = RecordedTarget(job, _labels(labels), _labels(external), seed)
    return found


def _mark(seed: Seed, natives: list[object]) -> None:
    """Give the series at the indexes a line lists their histogram markers."""
    if len(natives) > len(_NATIVE_KINDS) or not all(isinstance(indexes, list) for indexes in natives):
        raise ValueError("lists of series indexes expected")
    ids = list(seed)
    for indexes, marker in zip(natives, _NATIVE_KINDS, strict=False):
        for index in indexes:  # type: ignore[attr-defined]
            if not isinstance(index, int) or not 0 <= index < len(ids):
                raise ValueError("a series index expected")
            seed[ids[index]] = marker


_NATIVE_KINDS: Final = (STALE_HISTOGRAM, STALE_FLOAT_HISTOGRAM)
"""The markers of a line's third and fourth elements' series."""


def _name(name: object) -> str:
    if not isinstance(name, str):
        raise ValueError("a metric name expected")
    return name


def _labels(pairs: Sequence[Sequence[str]]) -> Labels:
    found = tuple((name, value) for name, value in pairs)
    if not all(isinstance(name, str) and isinstance(value, str) for name, value in found):
        raise ValueError("label pairs expected")
    return found


def pack(lines: Iterable[bytes], limit: int) -> tuple[bytes, int, int]:
    """The compressed record of ``lines`` (one per target), at most ``limit`` bytes: all of
    them, else as many of the first ones as fit. Returns the record, its raw size, the lines
    kept. The lines are joined into one buffer as they come, so that a caller may make each
    only now (``RecordKeeper.keep``), and taken only while they may still fit (``_joined``)."""
    raw, ends = _joined(lines, limit)
    view = memoryview(raw)
    kept = len(ends)
    while True:
        part = view[: ends[kept - 1]] if kept else view[:0]
        packed = bytes(cramjam.zstd.compress(part, ZSTD_LEVEL))
        if len(packed) <= limit or kept == 0:
            return packed, len(part), kept
        kept = min(kept - 1, int(kept * limit / len(packed) * 0.95))


def _joined(lines: Iterable[bytes], limit: int) -> tuple[bytearray, list[int]]:
    """``lines`` joined by newlines, and where each ends; once their text is past
    ``ESTIMATE_FROM``, only until they compress to more than ``limit`` (``_Estimate``): the
    lines after could not be kept, and are neither made nor held."""
    raw = bytearray()
    ends: list[int] = []
    estimate: _Estimate | None = None
    for line in lines:
        if ends:
            raw += b"\n"
        raw += line
        ends.append(len(raw))
        if estimate is not None:
            estimate.add(b"\n" + line)
        elif len(raw) > ESTIMATE_FROM:
            estimate = _Estimate(bytes(raw))
        if estimate is not None and estimate.packed > limit:
            break
    return raw, ends


ESTIMATE_FROM: Final = 16 * 1024 * 1024
"""A record's text past this many bytes is also compressed as it is made, to stop making it
once it cannot fit (a job's label text compresses about 50 times: 16 MiB of it is near the
item's size). Below, it is compressed once, as it is written, whether it fits or not."""
ESTIMATE_STEP: Final = 256 * 1024
"""What the text past ``ESTIMATE_FROM`` compressed to is counted at every this many bytes of it
(a zstd flush: the count lags by at most what this much text compresses to, about 5 KB)."""


class _Estimate:
    """What a record's text compresses to so far, counted as the text comes (streamed: a
    little more than the record's one-shot compression, which holds the whole text)."""

    def __init__(self, text: bytes) -> None:
        self.compressor = cramjam.zstd.Compressor(ZSTD_LEVEL)
        self.packed = 0
        self.pending = 0
        self.add(text)

    def add(self, text: bytes) -> None:
        self.compressor.compress(text)
        self.pending += len(text)
        if self.pending >= ESTIMATE_STEP:
            self.packed += len(self.compressor.flush())
            self.pending = 0


def unpack(packed: bytes, raw_bytes: int) -> bytes:
    if not 0 <= raw_bytes <= MAX_RAW_BYTES:
        raise ValueError(f"a record of {raw_bytes} bytes")
    out = bytearray(raw_bytes)
    written = cramjam.zstd.decompress_into(packed, out)
    if written != raw_bytes:
        raise ValueError("a record shorter than it says")
    return bytes(out)


class StalenessRecord:
    """A job group's record in the state table (``statetable.Items``)."""

    def __init__(self, items: Items, key: str, clock: Any = time.time) -> None:
        self.items = items
        self.key = key
        self.clock = clock
        self.written_ms = 0
        """When this process last wrote the record (0: never)."""

    def read(
        self, others: Sequence[str], deadline: Deadline, report: RecordReport
    ) -> dict[str, dict[str, Any]] | None:
        """The items of this record and of the ``others`` (removed shards' records) that exist,
        by key, in one BatchGetItem; ``None`` when the table cannot be read."""
        try:
            found = self.items.batch_get(list(dict.fromkeys([self.key, *others])), deadline)
            return {item[KEY_ATTRIBUTE]["S"]: item for item in found}
        except TableError as exc:
            report.errors.append(f"staleness record not read: {exc}")
            return None

    @staticmethod
    def targets(item: dict[str, Any], report: RecordReport) -> dict[TargetKey, RecordedTarget] | None:
        """The targets a record's ``item`` names (``None``, said in ``report``, when it is
        unreadable)."""
        try:
            return decode(unpack(item[_RECORD]["B"], int(item[_RAW]["N"])))
        except (KeyError, TypeError, ValueError, cramjam.DecompressionError) as exc:
            report.errors.append(f"staleness record ignored: unreadable ({type(exc).__name__})")
            return None

    def due(self, changed: bool) -> bool:
        """Whether the record must be written: something changed, or it is a day old."""
        return changed or int(self.clock() * 1000) - self.written_ms >= REFRESH_MS

    def save(  # noqa: PLR0917 (the record, and where and how its write goes)
        self,
        lines: Iterable[bytes],
        targets: int,
        deadline: Deadline,
        report: RecordReport,
        joined: WriteBatch | None,
        done: Callable[[], None],
    ) -> None:
        """Write the record of ``lines``, the first of ``targets`` (whatever was there: the last
        writer wins): in the caller's write after the cycle (``joined``), else in a PutItem now.
        Once it is written, ``report`` says so and ``done`` is called; if it is not, ``report``
        says why."""
        packed, raw_bytes, kept = pack(lines, MAX_RECORD_BYTES)
        now_ms = int(self.clock() * 1000)
        item = {
            KEY_ATTRIBUTE: {"S": self.key},
            _RECORD: {"B": packed},
            _RAW: {"N": str(raw_bytes)},
            VERSION_ATTRIBUTE: {"N": str(now_ms)},
            TTL_ATTRIBUTE: {"N": str(now_ms // 1000 + ITEM_TTL_SECONDS)},
        }

        def written(error: str | None) -> None:
            if error is not None:
                report.errors.append(f"staleness record not written: {error}")
                return
            self.written_ms = now_ms
            report.written_bytes = len(packed)
            report.targets = kept
            report.targets_left_out = targets - kept
            if kept < targets:
                report.warnings.append(
                    f"staleness record over DynamoDB's item limit: {targets - kept} of {targets} "
                    "targets left out (no markers for them after a cold start; shard the job group)"
                )
            done()

        if joined is not None:
            joined.add(item, written)
            return
        try:
            self.items.put_any(item, deadline)
        except TableError as exc:
            written(str(exc))
            return
        written(None)


@dataclass(frozen=True)
class Adoption:
    """Removed shards whose records a cycle reads with its own (one request), and which of
    their targets left the fleet (``shards.departures``): those end at ``at_ms``."""

    keys: Sequence[str]
    left: Callable[[str, Labels], bool]
    at_ms: int


class RecordKeeper:
    """The scrape stage's use of a record: seed the caches of its first cycle, mark stale the
    recorded targets that are gone (and those of the removed shards it adopts), and write the
    record back when due. Its reads of a cycle are one BatchGetItem; its write is the caller's
    write after the cycle when there is one (a shard's series counts), else a PutItem in a cycle
    that made no read."""

    def __init__(self, record: StalenessRecord, refs: Iterator[SeriesRef]) -> None:
        self.record = record
        self.refs = refs
        """The scrape stage's allocator (markers of recorded targets that left get fresh refs)."""
        self.loaded = False
        self.report = RecordReport()
        self.recorded: frozenset[TargetKey] = frozenset()
        """The targets of the record as last read or written."""
        self.postpone = False
        """The record was read this cycle: a write of its own waits for the next (one request a
        cycle)."""

    def seed(
        self,
        caches: Sequence[tuple[Target, SeriesCache]],
        deadline: Deadline,
        scrape_ms: int,
        adoption: Adoption | None = None,
    ) -> list[EndedTarget]:
        """At the first cycle, give each cache that never scraped its target the recorded series,
        and the markers of the recorded targets not among ``caches`` (they left meanwhile:
        stamped ``scrape_ms``, later than anything their last process sent); and the markers of
        the targets that left of the records ``adoption`` names. One read for all of them."""
        first = not self.loaded
        others = adoption.keys if adoption is not None else ()
        if not first and not others:
            return []
        keys = [self.record.key] if first else []
        found = self.record.read([*keys, *others], deadline, self.report)
        self.postpone = True
        ended: list[EndedTarget] = []
        if first:
            self.loaded = True
            if found is not None:
                ended += self._first(caches, found.get(self.record.key), scrape_ms)
        if adoption is not None and found is not None:
            for key in adoption.keys:
                item = found.get(key)
                recorded = {} if item is None else self.record.targets(item, self.report) or {}
                gone = [each for each in recorded.values() if adoption.left(each.job, each.labels)]
                ended += self._ended(gone, adoption.at_ms)
        return ended

    def _first(
        self, caches: Sequence[tuple[Target, SeriesCache]], item: dict[str, Any] | None, scrape_ms: int
    ) -> list[EndedTarget]:
        """Seed ``caches`` from the own record's ``item``; the markers of its targets not among them."""
        self.report.read = True
        recorded = {} if item is None else self.record.targets(item, self.report)
        if recorded is None:
            recorded = {}
        elif item is not None:
            self.record.written_ms = _version(item)
        self.recorded = frozenset(recorded)
        for target, cache in caches:
            found = recorded.pop(target_key(target), None)
            if found is not None and cache.tracker.last is None:
                cache.tracker.seed = found.series
        return self._ended(recorded.values(), scrape_ms)

    def _ended(self, recorded: Iterable[RecordedTarget], scrape_ms: int) -> list[EndedTarget]:
        """End-of-run markers, at ``scrape_ms``, for targets known only from a record (fresh refs)."""
        ended = []
        for gone in recorded:
            stale = seed_markers(gone.series, self.refs, scrape_ms)
            stale += report_markers(gone.labels, gone.external_labels, self.refs, scrape_ms)
            ended.append(EndedTarget(gone.job, gone.labels, "", stale))
        return ended

    def keep(
        self,
        caches: Sequence[SeriesCache],
        deadline: Deadline,
        joined: WriteBatch | None = None,
        *,
        eager: bool = True,
    ) -> RecordReport:
        """Write the record of ``caches`` if it is due: targets came or went, some target's
        tracked series changed, or it is a day old; in ``joined`` (the caller's write after the
        cycle) when given, else in a PutItem. A cycle that read the record leaves the write to
        the next one, unless it is ``eager`` and has ``joined`` to write it in: a shard's worker,
        which seldom sees a next cycle. (A planner's own cycle waits: making the record while
        a cold cycle's new state is built was 3% of that cycle's peak RSS.)"""
        scraped = [cache.tracker for cache in caches if cache.tracker.last is not None]
        keys = frozenset(map(_key, scraped))
        changed = keys != self.recorded or any(tracker.changed for tracker in scraped)
        postpone, self.postpone = self.postpone and (joined is None or not eager), False
        if not postpone and self.record.due(changed):
            # Each line is made now, from what the caches hold, not kept between writes (it
            # was 128 B a series: docs/scaling.md, "What a cached series holds").
            made = (encode_target(_key(tracker), tracker.series()) for tracker in scraped)
            lines = _within_raw_bound(made)

            def written() -> None:
                self.recorded = keys
                for tracker in scraped:
                    tracker.changed = False

            self.record.save(lines, len(scraped), deadline, self.report, joined, written)
        report, self.report = self.report, RecordReport()
        return report


def _within_raw_bound(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The first ``lines`` whose text, each with its newline, is at most ``MAX_RAW_BYTES``."""
    total = 0
    for line in lines:
        total += len(line) + 1
        if total > MAX_RAW_BYTES:
            return
        yield line


def _version(item: dict[str, Any]) -> int:
    """When a record was written (0, so it is rewritten, when it does not say)."""
    try:
        return int(item[VERSION_ATTRIBUTE]["N"])
    except (KeyError, TypeError, ValueError):
        return 0


def _key(tracker: Tracker) -> TargetKey:
    """The record's key of a scraped target (made once)."""
    if tracker.key is None:
        assert tracker.last is not None
        tracker.key = target_key(tracker.last[0])
    return tracker.key
