"""The DynamoDB state table the template creates (named by ``settings.STATE_TABLE_ENV``): its
attribute names and the service limits its users respect.

Three users share it, each with keys of its own: the CloudWatch sink's counter state
(``sinks.cloudwatch.state``, ``cw1#...``), the per-sink delivery leases (``backlog.lease``,
``lease#...``) and the shard plan of each job group with the series counts its shards saw per
target (``shards.state``, ``shards#...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .deadline import Deadline

KEY_ATTRIBUTE = "pk"
TTL_ATTRIBUTE = "expires_at"
"""Epoch seconds after which DynamoDB deletes the item (the table's TTL attribute)."""

MAX_ITEM_BYTES = 400 * 1024
"""An item's size limit, names and values together (DynamoDB developer guide, "Service,
account, and table quotas")."""
MAX_BATCH_GET_KEYS = 100
"""BatchGetItem: at most 100 keys per request (DynamoDB API reference)."""
MAX_UNPROCESSED_RETRIES = 3
UNPROCESSED_BACKOFF_SECONDS = 0.05
"""BatchGetItem's unprocessed keys are asked for again after 50, 100, 200 ms (the DynamoDB
developer guide advises retrying them with exponential backoff)."""


class UnprocessedKeys(Exception):
    """BatchGetItem left keys unprocessed after every retry the deadline allowed."""


def batch_get(
    call: Callable[[list[dict[str, Any]]], dict[str, Any]], table: str, keys: list[str], deadline: Deadline
) -> Iterator[dict[str, Any]]:
    """The items of ``keys`` found in ``table``, read by ``call`` (one BatchGetItem with those
    key objects) ``MAX_BATCH_GET_KEYS`` at a time, asking again for what DynamoDB left
    unprocessed; ``UnprocessedKeys`` when some are still left."""
    for start in range(0, len(keys), MAX_BATCH_GET_KEYS):
        wanted = [{KEY_ATTRIBUTE: {"S": key}} for key in keys[start : start + MAX_BATCH_GET_KEYS]]
        for attempt in range(MAX_UNPROCESSED_RETRIES + 1):
            response = call(wanted)
            yield from response.get("Responses", {}).get(table, [])
            wanted = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not wanted:
                break
            wait = UNPROCESSED_BACKOFF_SECONDS * 2**attempt
            if attempt == MAX_UNPROCESSED_RETRIES or deadline.remaining() <= wait:
                raise UnprocessedKeys(f"{len(wanted)} keys left unprocessed by BatchGetItem")
            time.sleep(wait)
