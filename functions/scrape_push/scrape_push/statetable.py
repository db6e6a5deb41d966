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
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
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
"""BatchGetItem: at most 100 keys per request (DynamoDB API reference)."""
MAX_UNPROCESSED_RETRIES = 3
UNPROCESSED_BACKOFF_SECONDS = 0.05
"""Unprocessed keys are asked for again after 50, 100, 200 ms (the DynamoDB developer guide
advises retrying them with exponential backoff)."""
_CONFLICT = "ConditionalCheckFailedException"


class TableError(Exception):
    """The table could not be read or written; the message is safe to report."""


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
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONFLICT:
                return False
            raise _table_error(exc) from None
        return True

    def put_any(self, item: dict[str, Any], deadline: Deadline) -> None:
        """Write ``item`` whatever the table holds (the last writer wins)."""
        self._call("put_item", deadline, TableName=self.table, Item=item)

    def _call(self, operation: str, deadline: Deadline, **kwargs: Any) -> Any:
        self.requests += 1
        try:
            return getattr(self.clients(deadline), operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONFLICT:
                raise
            raise _table_error(exc) from None
        except BotoCoreError as exc:
            raise TableError(str(exc)[:256]) from None


def _table_error(exc: ClientError) -> TableError:
    error = exc.response.get("Error", {})
    return TableError(f"{error.get('Code', 'Error')}: {error.get('Message', '')}"[:256])
