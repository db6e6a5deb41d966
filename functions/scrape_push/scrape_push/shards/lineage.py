"""What a shard owes to the shards before it, after the shard count changed.

Leases and backlogs are per sink, job group and shard, so a series' undelivered data waits in
the folder of the shard that scraped it. When the count changes, some targets move (only those
the jump hash must move, ``assign``), and their older data may still wait in the folder they
left. Two rules keep every series' data in scrape order and deliver each batch once:

* **wait**: a shard that gained targets neither replays nor sends while a folder they left still
  holds items scraped before they left it: it queues its own batches behind (``behind_shard``)
  until that folder is drained;
* **inherit**: a shard that no longer exists (the count went down) has its folder drained by
  shard ``removed % count``, under the removed shard's own lease.

The planner keeps the counts used before (``Era``: a count and when it stopped being used) in
the state table and hands each shard what it owes, in its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .assign import jump

MAX_ERAS = 16
"""Counts remembered (the most recent): a seventeenth change within the backlogs' two weeks
forgets the oldest (docs/scaling.md)."""


@dataclass(frozen=True)
class Era:
    """A shard count, used by the cycles planned before ``until_ms``."""

    shards: int
    until_ms: int


@dataclass(frozen=True)
class Lineage:
    """What one shard owes: folders to wait behind, and removed shards' folders to drain."""

    waits_for: tuple[tuple[int, int], ...] = ()
    """(shard, until ms): do not deliver ahead of that shard's items scraped before then."""
    inherits: tuple[tuple[int, int], ...] = ()
    """(removed shard, removed at ms): drain that shard's backlog."""


NONE = Lineage()

Eras = tuple[Era, ...]


def lineage(shard: int, keys: Sequence[int], shards: int, eras: Sequence[Era]) -> Lineage:
    """What shard ``shard`` of ``shards`` owes, given the target keys it serves now and the
    counts used before (oldest first)."""
    waits: dict[int, int] = {}
    removed: dict[int, int] = {}
    for era in eras:
        if era.shards == shards:
            continue
        for key in keys:
            was = jump(key, era.shards)
            if was != shard:
                waits[was] = max(waits.get(was, 0), era.until_ms)
        for gone in range(shards, era.shards):
            removed[gone] = max(removed.get(gone, 0), era.until_ms)
    inherits = tuple(sorted((gone, until) for gone, until in removed.items() if gone % shards == shard))
    return Lineage(tuple(sorted(waits.items())), inherits)


def changed(eras: Sequence[Era], previous: int, now_ms: int) -> Eras:
    """The eras once the count ``previous`` stops being used at ``now_ms`` (bounded)."""
    return (*eras, Era(previous, now_ms))[-MAX_ERAS:]


def forget_older(eras: Sequence[Era], before_ms: int) -> Eras:
    """The eras that ended at or after ``before_ms`` (older ones owe nothing any more)."""
    return tuple(era for era in eras if era.until_ms >= before_ms)
