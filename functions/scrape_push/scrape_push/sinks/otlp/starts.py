"""Start times of cumulative streams that expose no ``_created``: when each was first seen, kept
across cold starts and shared by overlapping invocations in the state table (``STATE_TABLE``).

Why keep them: a consumer that turns cumulative points into increases (the Collector's
``cumulativetodelta``, exporters to delta backends) reads a changed start time as a counter
reset. A start remembered only in memory would change at every cold start and differ between
two execution environments, each time a false reset. So the first point of a stream is a "true
reset point" (start = its own time: OpenTelemetry's data model, "Cumulative streams: handling
unknown start time", as the Collector's ``metricstarttime`` processor does), later points carry
that start, and a value lower than the last one seen (a reset) starts the stream again 1 ms
before the point. Without a state table, or when it cannot be read or written in time, points
are sent without a start time, as the newest compatibility specification prefers when none is
known, rather than with one that would not hold.

One item per target and sink holds its streams: a cycle reads a target's item once per process
(one BatchGetItem per 100 targets at a cold start) and writes it only when a stream is new or
reset, or once a day to keep it alive. Writes are conditional on the version read: when two
invocations race, the loser reads again and adopts the winner's start times. A staleness marker's
point carries its stream's start when one is known and changes nothing.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...deadline import Deadline
from ...statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE, VERSION_ATTRIBUTE, Items, TableError
from ..base import SinkReport
from .series import Resource
from .translate import Point

ENTRY = struct.Struct("<8sqdI")
"""A stream in an item: id, start (epoch ms), value at the start, day last confirmed."""
SERIES_PER_SHARD = 10_000
"""Streams per item shard: 280 KB, clear of DynamoDB's 400 KB item limit."""
MAX_SHARDS = 64
REFRESH_MS = 86_400_000
"""A target's item is rewritten at least daily while it is scraped (its TTL moves on)."""
SERIES_TTL_DAYS = 7
"""A stream not confirmed for a week is forgotten (its next point starts it again)."""
ITEM_TTL_SECONDS = 8 * 86400
"""DynamoDB deletes a target's item eight days after its last write (the target went away)."""
SETTLE_SHARE = 0.25
"""Of the time left to send, the most the state step may take: what it cannot read or write by
then goes without a start time this cycle, and the requests keep the rest of the time."""
MAX_KEPT = 500_000
"""Streams kept in memory across invocations; past it they are read again as needed."""
_DAY_MS = 86_400_000


@dataclass
class Entry:
    start_ms: int
    base: float
    """The value at the start: a lower one later means a reset, even across a cold start."""
    seen_day: int
    last: float
    """The last value seen (memory only)."""


@dataclass
class TargetStarts:
    """One target's streams, and the version each item shard was read at (``None``: absent)."""

    entries: dict[bytes, Entry] = field(default_factory=dict)
    versions: dict[int, int | None] = field(default_factory=lambda: {0: None})

    @property
    def written_ms(self) -> int:
        return self.versions.get(0) or 0


def target_key(sink: str, resource: Resource) -> str:
    """The item key of one target's start times for one sink (hashed: bounded, no raw labels)."""
    digest = hashlib.sha256("\0".join((sink, resource.job, resource.instance)).encode()).hexdigest()[:32]
    return f"otlp1#{digest}"


def _shard_key(key: str, shard: int) -> str:
    return key if shard == 0 else f"{key}#{shard}"


def _shards(count: int, at_least: int) -> int:
    shards = max(1, at_least)
    while shards * SERIES_PER_SHARD < count:
        shards *= 2
    if shards > MAX_SHARDS:
        raise TableError(f"{count} streams in one target: too many to keep start times for")
    return shards


def encode_entries(entries: Iterable[tuple[bytes, Entry]]) -> bytes:
    return b"".join(ENTRY.pack(sid, e.start_ms, e.base, e.seen_day) for sid, e in entries)


def decode_entries(blob: bytes) -> dict[bytes, Entry]:
    if len(blob) % ENTRY.size:
        raise TableError("a start-time item is corrupt")
    return {sid: Entry(start, base, seen, base) for sid, start, base, seen in ENTRY.iter_unpack(blob)}


class StartStore:
    """Target items of start times in the state table."""

    def __init__(self, items: Items) -> None:
        self.items = items

    def load(self, keys: Sequence[str], deadline: Deadline) -> dict[str, TargetStarts]:
        """Each key's item (empty when the target is new)."""
        found = {key: TargetStarts() for key in keys}
        more: dict[str, tuple[str, int]] = {}
        for item in self.items.batch_get(list(keys), deadline):
            key = item[KEY_ATTRIBUTE]["S"]
            self._absorb(found[key], 0, item)
            shards = int(item.get("shards", {"N": "1"})["N"])
            found[key].versions.update(dict.fromkeys(range(1, shards)))
            more.update({_shard_key(key, shard): (key, shard) for shard in range(1, shards)})
        for item in self.items.batch_get(list(more), deadline):
            key, shard = more[item[KEY_ATTRIBUTE]["S"]]
            self._absorb(found[key], shard, item)
        return found

    @staticmethod
    def _absorb(target: TargetStarts, shard: int, item: dict[str, Any]) -> None:
        target.versions[shard] = int(item[VERSION_ATTRIBUTE]["N"])
        target.entries.update(decode_entries(item["starts"]["B"]))

    def save(self, key: str, target: TargetStarts, now_ms: int, deadline: Deadline) -> bool:
        """Write every shard of ``target`` unless another invocation wrote it since it was read
        (``False`` then). Streams not confirmed for ``SERIES_TTL_DAYS`` are left out."""
        horizon = now_ms // _DAY_MS - SERIES_TTL_DAYS
        kept = {sid: e for sid, e in target.entries.items() if e.seen_day >= horizon}
        shards = _shards(len(kept), max(target.versions) + 1)  # never fewer: every shard stays known
        parts: list[list[tuple[bytes, Entry]]] = [[] for _ in range(shards)]
        for sid, entry in kept.items():
            parts[sid[0] % shards].append((sid, entry))
        for shard, part in enumerate(parts):
            read = target.versions.get(shard)
            version = max(now_ms, (read or 0) + 1)
            item = {
                KEY_ATTRIBUTE: {"S": _shard_key(key, shard)},
                "starts": {"B": encode_entries(part)},
                VERSION_ATTRIBUTE: {"N": str(version)},
                TTL_ATTRIBUTE: {"N": str(now_ms // 1000 + ITEM_TTL_SECONDS)},
            }
            if shard == 0:
                item["shards"] = {"N": str(shards)}
            if not self.items.put(item, read, deadline):
                return False
            target.versions[shard] = version
        target.entries = kept
        return True


class StartTimes:
    """The state step of the OTLP sink: gives unstarted cumulative points their start time."""

    def __init__(
        self, sink: str, store: StartStore | None, clock: Callable[[], float] = time.time, workers: int = 4
    ) -> None:
        self.sink = sink
        self.store = store
        self.clock = clock
        self.workers = workers
        """Targets whose item is written at once (a cold start with many targets writes them all)."""
        self.targets: dict[str, TargetStarts] = {}
        """Targets whose item was read by this process (the warm memory of start times)."""

    def settle(self, points: Sequence[Point], deadline: Deadline, report: SinkReport) -> None:
        """Set ``start_ns`` of ``points`` (cumulative, without ``_created``) where it can be
        known for good; leave it unset otherwise (and say why in ``report``)."""
        if not points:
            return
        if self.store is None:
            report.warn(
                f"no state table (STATE_TABLE): {len(points)} cumulative points without _created "
                "sent without a start time"
            )
            return
        by_resource: dict[Resource, list[Point]] = defaultdict(list)
        for point in points:
            by_resource[point.stream.resource].append(point)
        by_target = {target_key(self.sink, resource): found for resource, found in by_resource.items()}
        if sum(len(t.entries) for t in self.targets.values()) > MAX_KEPT:
            self.targets.clear()
        budget = deadline.within(deadline.remaining() * SETTLE_SHARE)
        try:
            self._load([key for key in by_target if key not in self.targets], budget)
        except TableError as exc:
            report.warn(f"start times not read ({exc}): points of new targets sent without one")
        now_ms = int(self.clock() * 1000)
        known = [key for key in by_target if key in self.targets]

        def settle_one(key: str) -> None:
            self._settle_target(key, by_target[key], now_ms, budget, report)

        if len(known) > 1 and self.workers > 1:
            with ThreadPoolExecutor(min(self.workers, len(known)), thread_name_prefix="otlp-starts") as pool:
                list(pool.map(settle_one, known))
        else:
            for key in known:
                settle_one(key)

    def _load(self, keys: list[str], deadline: Deadline) -> None:
        if keys:
            assert self.store is not None
            self.targets.update(self.store.load(keys, deadline))

    def _settle_target(
        self, key: str, points: list[Point], now_ms: int, deadline: Deadline, report: SinkReport
    ) -> None:
        target = self.targets[key]
        changed = _apply(target, points, now_ms)
        if not changed and now_ms - target.written_ms < REFRESH_MS:
            return
        assert self.store is not None
        try:
            if self.store.save(key, target, now_ms, deadline):
                return
            target = self.targets[key] = self.store.load([key], deadline)[key]  # lost a race: adopt
            changed = _apply(target, points, now_ms)
            if self.store.save(key, target, now_ms, deadline):
                return
            problem = "another invocation kept writing them"
        except TableError as exc:
            problem = str(exc)
        report.warn(f"start times not kept ({problem}): new streams sent without one")
        del self.targets[key]  # read again next time
        for point in changed:
            point.start_ns = None


def _apply(target: TargetStarts, points: Sequence[Point], now_ms: int) -> list[Point]:
    """Give each point its stream's start from ``target`` (a new or reset stream starts now);
    the points whose start is new (not yet stored)."""
    today = now_ms // _DAY_MS
    changed: list[Point] = []
    for point in points:
        stream = point.stream
        entry = target.entries.get(stream.sid)
        if point.stale:  # the stream ended: its start if known, and nothing learnt from it
            point.start_ns = None if entry is None else entry.start_ms * 1_000_000
            continue
        reading = point.reading
        monotonic = stream.metric is not None and stream.metric.monotonic
        if entry is None or (monotonic and reading < entry.last):  # NaN compares false: no reset
            start_ms = point.time_ms if entry is None else point.time_ms - 1
            entry = target.entries[stream.sid] = Entry(start_ms, reading, today, reading)
            changed.append(point)
        entry.last = reading
        entry.seen_day = today
        point.start_ns = entry.start_ms * 1_000_000
    return changed
