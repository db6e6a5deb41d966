"""Previous cumulative values across invocations, in the DynamoDB table named by ``STATE_TABLE``.

One item per scrape target (``job`` + ``instance``) and sink holds every tracked series of that
target, compressed: a cycle costs one BatchGetItem per 100 targets and one PutItem per target,
instead of one request per series. An item that would pass ``MAX_ITEM_BYTES`` is split into
shards by series hash (shard 0 records how many).

Every write is conditional on the version read (``attribute_not_exists`` for a new item): when
two invocations overlap, only the first to write owns the interval and sends its increases; the
other finds its condition failed and sends nothing for that target, so nothing is counted twice.
Within that read-and-write, a series' stored point is replaced only by a later one: a scrape older
than the state (an overlapping invocation that wrote later, or exposed timestamps that went back)
sends nothing and leaves the state as it was, so no interval is counted twice.
Items carry a TTL attribute; series not seen for ``SERIES_TTL_SECONDS`` are pruned on write.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import aws
from ...aws import ClientFor
from ...deadline import Deadline
from ...statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE
from .counters import CumulativePoint

SERIES_TTL_SECONDS = 86400
"""A series unseen for a day is forgotten (its next sight is a first sight again)."""
ITEM_TTL_SECONDS = 2 * 86400
"""DynamoDB deletes a target's item two days after its last write (the target went away)."""
MAX_ITEM_BYTES = 300_000
"""DynamoDB items are limited to 400 KB; the compressed state stays below this, else is sharded."""
MAX_BATCH_GET_KEYS = 100
"""BatchGetItem: at most 100 keys per request."""
MAX_UNPROCESSED_RETRIES = 3
UNPROCESSED_BACKOFF_SECONDS = 0.05
"""BatchGetItem's unprocessed keys are asked for again after 50, 100, 200 ms (the DynamoDB
developer guide advises retrying them with exponential backoff)."""


class StateError(Exception):
    """The state table could not be read or written; the message is safe to report."""


@dataclass
class Stored:
    """A target's state as read: its series' points, and the version each shard was read at."""

    points: dict[str, CumulativePoint] = field(default_factory=dict)
    versions: dict[int, int | None] = field(default_factory=dict)
    """Shard number -> the ``version`` attribute read (``None``: no item yet)."""


def target_key(sink: str, namespace: str, job: str, instance: str) -> str:
    """The item key of one target's state for one sink (hashed: bounded length, no raw labels)."""
    digest = hashlib.sha256("\0".join((sink, namespace, job, instance)).encode()).hexdigest()[:32]
    return f"cw1#{digest}"


def state_id(name: str, labels: Iterable[tuple[str, str]]) -> str:
    """A short stable id of a tracked series within its target's item (it outlives the process,
    unlike a ``SeriesRef``)."""
    text = name + "".join(f"\0{k}\0{v}" for k, v in labels)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _shard_key(key: str, shard: int) -> str:
    return key if shard == 0 else f"{key}#{shard}"


def encode(points: Mapping[str, CumulativePoint]) -> bytes:
    payload = {ident: [p.ts_ms, p.created, p.layout, list(p.values)] for ident, p in points.items()}
    return zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)


def decode(blob: bytes) -> dict[str, CumulativePoint]:
    payload = json.loads(zlib.decompress(blob))
    return {
        ident: CumulativePoint(int(ts), tuple(values), created, layout)
        for ident, (ts, created, layout, values) in payload.items()
    }


def shard_of(ident: str, shards: int) -> int:
    return int(ident[:8], 16) % shards


class StateStore:
    """Reads and conditionally writes target items; ``requests`` counts DynamoDB calls made."""

    def __init__(self, clients: ClientFor, table: str, clock: Any = time.time) -> None:
        self.clients = clients
        self.table = table
        self.clock = clock
        self.requests = 0

    def load(self, keys: Iterable[str], deadline: Deadline) -> dict[str, Stored]:
        """The stored state of each key (an empty ``Stored`` when the target is new)."""
        found: dict[str, Stored] = {key: Stored(versions={0: None}) for key in keys}
        extra: dict[str, int] = {}
        for key, shard, item in self._batch_get([(k, 0) for k in found], deadline):
            shards = int(item.get("shards", {"N": "1"})["N"])
            self._absorb(found[key], shard, item)
            if shards > 1:
                extra[key] = shards
        more = [(key, s) for key, n in extra.items() for s in range(1, n)]
        for key, shards in extra.items():
            found[key].versions.update(dict.fromkeys(range(1, shards)))
        for key, shard, item in self._batch_get(more, deadline):
            self._absorb(found[key], shard, item)
        return found

    @staticmethod
    def _absorb(stored: Stored, shard: int, item: dict[str, Any]) -> None:
        stored.versions[shard] = int(item["version"]["N"])
        stored.points.update(decode(item["state"]["B"]))

    def _batch_get(
        self, wanted: list[tuple[str, int]], deadline: Deadline
    ) -> Iterable[tuple[str, int, dict[str, Any]]]:
        by_item = {_shard_key(key, shard): (key, shard) for key, shard in wanted}
        pending = list(by_item)
        for start in range(0, len(pending), MAX_BATCH_GET_KEYS):
            keys = [{KEY_ATTRIBUTE: {"S": k}} for k in pending[start : start + MAX_BATCH_GET_KEYS]]
            for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
                request = {self.table: {"Keys": keys, "ConsistentRead": True}}
                response = self._call("batch_get_item", deadline, RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    key, shard = by_item[item[KEY_ATTRIBUTE]["S"]]
                    yield key, shard, item
                keys = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not keys:
                    break
                wait = UNPROCESSED_BACKOFF_SECONDS * 2**attempt
                if attempt == MAX_UNPROCESSED_RETRIES or deadline.remaining() <= wait:
                    raise StateError(f"{len(keys)} state items left unprocessed by BatchGetItem")
                time.sleep(wait)

    def save(
        self, key: str, stored: Stored, current: Mapping[str, CumulativePoint], deadline: Deadline
    ) -> set[str]:
        """Merge ``current`` into ``stored`` and write it; the ids of the series now owned.

        A series is owned (its increase may be sent) only when the shard holding it was written
        under the condition that nobody wrote it since ``load``. A current point no later than
        the stored one does not replace it (its increase is ``timestamp_not_advanced``).
        """
        now_ms = int(self.clock() * 1000)
        horizon = now_ms - SERIES_TTL_SECONDS * 1000
        merged = {ident: p for ident, p in stored.points.items() if p.ts_ms >= horizon}
        for ident, point in current.items():
            kept = merged.get(ident)
            if kept is None or point.ts_ms > kept.ts_ms:
                merged[ident] = point
        shards = 1
        blobs = [encode(merged)]
        while max(len(b) for b in blobs) > MAX_ITEM_BYTES and shards < 64:
            shards *= 2
            parts: list[dict[str, CumulativePoint]] = [{} for _ in range(shards)]
            for ident, point in merged.items():
                parts[shard_of(ident, shards)][ident] = point
            blobs = [encode(part) for part in parts]
        owned: set[str] = set()
        for shard, blob in enumerate(blobs):
            item = self._item(key, shard, shards, blob, now_ms)
            if self._put(item, stored.versions.get(shard), deadline):
                owned.update(ident for ident in current if shard_of(ident, shards) == shard)
        return owned

    @staticmethod
    def _item(key: str, shard: int, shards: int, blob: bytes, now_ms: int) -> dict[str, Any]:
        item = {
            KEY_ATTRIBUTE: {"S": _shard_key(key, shard)},
            "state": {"B": blob},
            TTL_ATTRIBUTE: {"N": str(now_ms // 1000 + ITEM_TTL_SECONDS)},
            "version": {"N": str(now_ms)},
        }
        if shard == 0:
            item["shards"] = {"N": str(shards)}
        return item

    def _put(self, item: dict[str, Any], version: int | None, deadline: Deadline) -> bool:
        """Write ``item`` if nobody wrote it since it was read at ``version``."""
        item["version"] = {"N": str(max(int(item["version"]["N"]), (version or 0) + 1))}
        if version is None:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({KEY_ATTRIBUTE})"}
        else:
            condition = {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(version)}},
            }
        try:
            self._call("put_item", deadline, TableName=self.table, Item=item, **condition)
        except aws.answer_errors() as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _call(self, operation: str, deadline: Deadline, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return getattr(self.clients(deadline), operation)(**kwargs)
        except aws.answer_errors() as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            err = exc.response.get("Error", {})
            raise StateError(f"{err.get('Code', 'Error')}: {err.get('Message', '')}"[:256]) from None
        except aws.unanswered_errors() as exc:
            raise StateError(str(exc)[:256]) from None
