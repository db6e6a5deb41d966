"""The shard plan of a job group and the series its shards saw per target, in the state table.

Two kinds of item per job group (keys hashed, so a long job list stays a short key):

* ``shards#<group>``: the plan — the shard count in use, since when a smaller count would have
  done (``sizing.decide``), and the counts used before (``lineage.Era``), which later cycles
  need to settle what moved. Written when any of it changes, and at least weekly (its TTL is a
  month: a plan a stable fleet keeps for months must not expire);
* ``shards#<group>#<shard>``: what shard ``<shard>``'s last cycle saw — per target a 64-bit key
  (``assign.target_key``) and its series, packed in 12 bytes, the largest first, at most
  ``MAX_COUNTED_TARGETS`` (a 360 KB item). Written by every shard's invocation after its cycle;
  expires a day after its last write.

The planner reads the plan and then every shard's counts with BatchGetItem (what the template
grants), and merges them, the newest count of a target winning (it may have moved shards).
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import aws
from ..deadline import Deadline
from ..statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE, Items, TableError, WriteBatch
from .assign import target_key
from .lineage import Era, Eras

if TYPE_CHECKING:
    from ..scrape import ScrapeResult

PLAN_TTL_SECONDS = 30 * 86400
PLAN_REFRESH_MS = 7 * 86400 * 1000
SERIES_TTL_SECONDS = 86400
MAX_COUNTED_TARGETS = 30_000
"""Targets counted per shard item: 12 bytes each keeps it below DynamoDB's 400 KB
(``statetable.MAX_ITEM_BYTES``); targets not counted are estimated like new ones."""
MAX_SERIES_COUNT = 2**32 - 1
CALL_SECONDS = 4.0
"""The longest one state call may take (never past the deadline it is given)."""

_ENTRY = struct.Struct(">QI")


class StateError(Exception):
    """The state table could not be read or written; the message is safe to report."""


@dataclass(frozen=True)
class PlanState:
    """A job group's shard plan as stored."""

    shards: int = 1
    low_since_ms: int = 0
    eras: Eras = ()
    written_ms: int = 0

    def high(self) -> int:
        """The most shards any remembered count had (their folders may hold data)."""
        return max([self.shards, *(era.shards for era in self.eras)])

    def same_as(self, other: PlanState) -> bool:
        return (self.shards, self.low_since_ms, self.eras) == (other.shards, other.low_since_ms, other.eras)


@dataclass(frozen=True)
class SeriesCounts:
    """The series counts of a job group's shards, as read."""

    merged: dict[int, int] = field(default_factory=dict)
    """Series per target key, the newest count winning (a target may have moved shards)."""
    by_shard: dict[int, frozenset[int]] = field(default_factory=dict)
    """The target keys each shard's item holds: the targets its last cycle scraped."""


def seen_series(scrapes: Sequence[ScrapeResult], before: Mapping[int, int]) -> dict[int, int]:
    """Series per target key that a cycle saw: what each target up exposed, and for a target
    down what was known ``before`` (it will expose as much again once it is back)."""
    seen: dict[int, int] = {}
    for result in scrapes:
        key = target_key(result.target)
        seen[key] = max(result.scraped, len(result.samples)) if result.up else before.get(key, 0)
    return seen


def pack(counts: Mapping[int, int]) -> bytes:
    """Target keys and series counts, the largest counts first, at most ``MAX_COUNTED_TARGETS``."""
    largest = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:MAX_COUNTED_TARGETS]
    return b"".join(_ENTRY.pack(key, min(count, MAX_SERIES_COUNT)) for key, count in largest)


def unpack(blob: bytes) -> dict[int, int]:
    """The counts packed in ``blob`` (a trailing partial entry is ignored)."""
    usable = len(blob) - len(blob) % _ENTRY.size
    return dict(_ENTRY.iter_unpack(blob[:usable]))


class ShardState:
    """One job group's plan and series counts in the state table."""

    def __init__(
        self, clients: aws.ClientFor, table: str, group: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.clients = clients
        self.table = table
        self.clock = clock
        self._prefix = "shards#" + hashlib.sha256(group.encode()).hexdigest()[:16]

    def _series_key(self, shard: int) -> str:
        return f"{self._prefix}#{shard}"

    def load_plan(self, deadline: Deadline) -> PlanState | None:
        """The stored plan, or ``None`` when the group has none yet."""
        for item in self._batch_get([self._prefix], deadline):
            try:
                eras = tuple(Era(int(n), int(until)) for n, until in json.loads(item["eras"]["S"]))
                return PlanState(
                    int(item["shards"]["N"]),
                    int(item["low_since_ms"]["N"]),
                    eras,
                    int(item["written_ms"]["N"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise StateError(f"state table {self.table}: shard plan item unreadable: {exc}") from None
        return None

    def load_series(self, shards: int, deadline: Deadline) -> SeriesCounts:
        """Series per target key, from the items of shards ``0..shards-1``, the newest winning;
        and the keys of each item (what that shard's last cycle scraped)."""
        found: list[tuple[int, int, dict[int, int]]] = []
        keys = [self._series_key(s) for s in range(shards)]
        for item in self._batch_get(keys, deadline):
            try:
                shard = keys.index(item[KEY_ATTRIBUTE]["S"])
                found.append((int(item["cycle_ms"]["N"]), shard, unpack(bytes(item["series"]["B"]))))
            except (KeyError, TypeError, ValueError):
                continue  # a damaged count only costs an estimate
        counts = SeriesCounts()
        for _, shard, counted in sorted(found, key=lambda each: each[0]):
            counts.merged.update(counted)
            counts.by_shard[shard] = frozenset(counted)
        return counts

    def save_plan(self, plan: PlanState, deadline: Deadline) -> None:
        """Write the plan (its ``written_ms`` is now)."""
        now = self.clock()
        self._put(
            {
                KEY_ATTRIBUTE: {"S": self._prefix},
                "shards": {"N": str(plan.shards)},
                "low_since_ms": {"N": str(plan.low_since_ms)},
                "eras": {"S": json.dumps([[era.shards, era.until_ms] for era in plan.eras])},
                "written_ms": {"N": str(int(now * 1000))},
                TTL_ATTRIBUTE: {"N": str(int(now) + PLAN_TTL_SECONDS)},
            },
            deadline,
        )

    def save_series(
        self,
        shard: int,
        counts: Mapping[int, int],
        cycle_ms: int,
        deadline: Deadline,
        joined: WriteBatch | None = None,
    ) -> None:
        """Write what shard ``shard``'s cycle of ``cycle_ms`` saw (``seen_series``), and in the
        same BatchWriteItem the items the cycle left to it (``joined``: its staleness record),
        each told how the write went."""
        item = {
            KEY_ATTRIBUTE: {"S": self._series_key(shard)},
            "series": {"B": pack(counts)},
            "cycle_ms": {"N": str(cycle_ms)},
            TTL_ATTRIBUTE: {"N": str(int(self.clock()) + SERIES_TTL_SECONDS)},
        }
        joined = joined or WriteBatch()
        try:
            self._items().put_all([item, *joined.items()], deadline)
        except TableError as exc:
            joined.settle(str(exc))
            raise StateError(f"state table {self.table}: {exc}") from None
        joined.settle(None)

    def _put(self, item: dict[str, Any], deadline: Deadline) -> None:
        try:
            self.clients(deadline.within(CALL_SECONDS)).put_item(TableName=self.table, Item=item)
        except aws.call_errors() as exc:
            raise self._error(exc) from None

    def _items(self) -> Items:
        return Items(lambda left: self.clients(left.within(CALL_SECONDS)), self.table)

    def _batch_get(self, keys: list[str], deadline: Deadline) -> Iterator[dict[str, Any]]:
        try:
            yield from self._items().batch_get(keys, deadline)
        except TableError as exc:
            raise StateError(f"state table {self.table}: {exc}") from None

    def _error(self, exc: Exception) -> StateError:
        return StateError(f"state table {self.table}: {aws.describe_error(exc)}")


def of_group(clients: aws.AwsClients, table: str | None, jobs: Sequence[str] | None) -> ShardState | None:
    """The shard state of job selection ``jobs`` in ``table`` (``None`` without a table)."""
    from ..sinks import job_group  # noqa: PLC0415 (sinks imports this package's lineage)

    return ShardState(clients.bounded("dynamodb"), table, job_group(jobs)) if table else None


def write_seen(  # noqa: PLR0917 (what a shard's cycle saw, and where it goes)
    state: ShardState | None,
    shard: int,
    seen: Mapping[int, int],
    cycle_ms: int,
    deadline: Deadline,
    joined: WriteBatch | None = None,
) -> str | None:
    """Write what a shard's cycle saw, with the items the cycle left to this write (``joined``);
    why not, as a warning, when it could not be (the next cycle is sized from older counts)."""
    if state is None:
        return None
    try:
        state.save_series(shard, seen, cycle_ms, deadline.within(CALL_SECONDS), joined)
    except StateError as exc:
        return f"series counts not written: {exc}"
    return None
