"""The DynamoDB state table the template creates (named by ``settings.STATE_TABLE_ENV``): its
attribute names, the service limits its users respect, and versioned items read in batches and
written only if unchanged since read (``Items``).

Five users share it, each with keys of its own: the CloudWatch sink's counter state
(``sinks.cloudwatch.state``, ``cw1#...``), the OTLP sink's start times (``sinks.otlp.starts``),
the per-sink delivery leases (``backlog.lease``, ``lease#...``), the shard plan of each job
group with the series counts its shards saw per target (``shards.state``, ``shards#...``) and
the scrape stage's staleness records (``scrape.record``, ``stale1#...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import aws

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

    from .aws import ClientFor
    from .deadline import Deadline

KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes the item (the table's TTL attribute)."""
MAX_ITEM_BYTES = 400 * 1024
"""An item's size limit, names and values together (DynamoDB developer guide, "Service,
account, and table quotas")."""
VERSION_ATTRIBUTE = "version"
"""An item's write time (epoch ms, raised past the version read): what a conditional write checks."""

MAX_BATCH_GET_KEYS = 100
"""BatchGetItem: at most 100 keys per request, and 16 MB of items per answer, past which the rest
come back as ``UnprocessedKeys`` (DynamoDB API reference, "BatchGetItem")."""
MAX_BATCH_WRITE_ITEMS = 25
"""BatchWriteItem: at most 25 put or delete requests per call (DynamoDB API reference,
"BatchWriteItem")."""
MAX_BATCH_WRITE_BYTES = 16 * 1024 * 1024
"""BatchWriteItem: at most 16 MB of data per call, each item at most ``MAX_ITEM_BYTES``
(DynamoDB API reference, "BatchWriteItem")."""
MAX_UNPROCESSED_RETRIES = 3
UNPROCESSED_BACKOFF_SECONDS = 0.05
"""Unprocessed keys and items are sent again after 50, 100, 200 ms (the DynamoDB API reference
advises retrying them with exponential backoff)."""
_CONFLICT = "ConditionalCheckFailedException"


class TableError(Exception):
    """The table could not be read or written; the message is safe to report."""


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values, in UTF-8 (strings), bytes (binary)
    or digits (numbers, an upper bound) ("Item sizes and formats", DynamoDB developer guide)."""
    size = 0
    for name, value in item.items():
        ((kind, content),) = value.items()
        size += len(name.encode()) + (len(content) if kind in ("B", "N") else len(str(content).encode()))
    return size


@dataclass
class WriteBatch:
    """Items a cycle leaves to the one write its caller makes after it (a shard's series counts,
    ``shards.state``): each is written in that BatchWriteItem, whatever the table holds (the last
    writer wins), and ``done`` is told whether it was (``None``) or why not."""

    puts: list[tuple[dict[str, Any], Callable[[str | None], None]]] = field(default_factory=list)

    def add(self, item: dict[str, Any], done: Callable[[str | None], None]) -> None:
        self.puts.append((item, done))

    def items(self) -> list[dict[str, Any]]:
        return [item for item, _ in self.puts]

    def settle(self, error: str | None) -> None:
        """Tell every item's ``done`` how the write went."""
        for _, done in self.puts:
            done(error)
        self.puts.clear()


class Items:
    """Versioned items of the table; ``requests`` counts the DynamoDB calls made."""

    def __init__(self, clients: ClientFor, table: str) -> None:
        self.clients = clients
        self.table = table
        self.requests = 0

    def batch_get(self, keys: Sequence[str], deadline: Deadline) -> Iterator[dict[str, Any]]:
        """The items of ``keys`` that exist (strongly consistent reads), in batches of 100."""
        for start in range(0, len(keys), MAX_BATCH_GET_KEYS):
            wanted = [{KEY_ATTRIBUTE: {"S": k}} for k in keys[start : start + MAX_BATCH_GET_KEYS]]
            for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
                request = {self.table: {"Keys": wanted, "ConsistentRead": True}}
                answer = self._call("batch_get_item", deadline, RequestItems=request)
                yield from answer.get("Responses", {}).get(self.table, [])
                wanted = answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
                if not wanted:
                    break
                wait = UNPROCESSED_BACKOFF_SECONDS * 2**attempt
                if attempt == MAX_UNPROCESSED_RETRIES or deadline.remaining() <= wait:
                    raise TableError(f"{len(wanted)} items left unprocessed by BatchGetItem")
                time.sleep(wait)

    def put(self, item: dict[str, Any], read: int | None, deadline: Deadline) -> bool:
        """Write ``item`` unless it changed since it was read at version ``read`` (``None``: it
        did not exist then); ``False`` when it did change."""
        if read is None:
            condition: dict[str, Any] = {"ConditionExpression": f"attribute_not_exists({KEY_ATTRIBUTE})"}
        else:
            condition = {
                "ConditionExpression": f"{VERSION_ATTRIBUTE} = :read",
                "ExpressionAttributeValues": {":read": {"N": str(read)}},
            }
        try:
            self._call("put_item", deadline, TableName=self.table, Item=item, **condition)
        except aws.answer_errors() as exc:
            if exc.response.get("Error", {}).get("Code") == _CONFLICT:
                return False
            raise _table_error(exc) from None
        return True

    def put_any(self, item: dict[str, Any], deadline: Deadline) -> None:
        """Write ``item`` whatever the table holds (the last writer wins)."""
        self._call("put_item", deadline, TableName=self.table, Item=item)

    def put_all(self, items: Sequence[dict[str, Any]], deadline: Deadline) -> None:
        """Write ``items`` whatever the table holds, in one BatchWriteItem (what it leaves
        unprocessed sent again with backoff); ``TableError`` when some could not be written.
        Items over DynamoDB's limits are refused before anything is sent."""
        sizes = [item_bytes(item) for item in items]
        if len(items) > MAX_BATCH_WRITE_ITEMS or sum(sizes) > MAX_BATCH_WRITE_BYTES:
            raise TableError(f"{len(items)} items of {sum(sizes)} bytes: over BatchWriteItem's limits")
        if any(size > MAX_ITEM_BYTES for size in sizes):
            raise TableError(f"an item of {max(sizes)} bytes: over DynamoDB's {MAX_ITEM_BYTES}")
        wanted: list[Any] = [{"PutRequest": {"Item": item}} for item in items]
        for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
            answer = self._call("batch_write_item", deadline, RequestItems={self.table: wanted})
            wanted = answer.get("UnprocessedItems", {}).get(self.table, [])
            if not wanted:
                return
            wait = UNPROCESSED_BACKOFF_SECONDS * 2**attempt
            if attempt == MAX_UNPROCESSED_RETRIES or deadline.remaining() <= wait:
                break
            time.sleep(wait)
        raise TableError(f"{len(wanted)} items left unprocessed by BatchWriteItem")

    def _call(self, operation: str, deadline: Deadline, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return getattr(self.clients(deadline), operation)(**kwargs)
        except aws.answer_errors() as exc:
            if exc.response.get("Error", {}).get("Code") == _CONFLICT:
                raise
            raise _table_error(exc) from None
        except aws.unanswered_errors() as exc:
            raise TableError(str(exc)[:256]) from None


def _table_error(exc: ClientError) -> TableError:
    error = exc.response.get("Error", {})
    return TableError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}"[:256])
