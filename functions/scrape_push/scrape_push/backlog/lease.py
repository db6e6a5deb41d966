"""A per-sink delivery lease in the state table, so overlapping invocations never interleave.

An invocation takes a sink's lease (for its job group) at the start of its cycle, with a
conditional PutItem that succeeds only if nobody holds it or the holder's lease ran out; it
holds it until its own Lambda timeout at most, so a holder that is killed frees the sink when
it could no longer be running. Only the holder replays the backlog and sends directly; an
overlapping invocation that finds the lease busy appends its batches to the backlog instead
(keyed by its later scrape time), so the sink receives every batch in scrape order.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import aws
from ..deadline import Deadline
from ..statetable import KEY_ATTRIBUTE, TTL_ATTRIBUTE

LEASE_MARGIN_SECONDS = 5.0
"""Held this long past the holder's own Lambda timeout (clock differences between hosts)."""
TTL_SECONDS = 86400
CALL_SECONDS = 4.0
"""The longest a lease call may take (never past the deadline it is given): a lease table that
does not answer is treated as unavailable well before the cycle's sends must start."""


class LeaseError(Exception):
    """The lease table could not be used; the message is safe to report."""


@dataclass
class Lease:
    """A held lease; ``release`` gives it back (idempotent)."""

    leases: Leases
    key: str
    owner: str
    released: bool = False

    def release(self, deadline: Deadline) -> None:
        if not self.released:
            self.released = True
            self.leases.release(self, deadline)


class Leases:
    """Leases in a DynamoDB table keyed by ``pk`` (the state table)."""

    def __init__(self, clients: aws.ClientFor, table: str, clock: Callable[[], float] = time.time) -> None:
        self.clients = clients
        self.table = table
        self.clock = clock

    def acquire(self, name: str, hold_seconds: float, deadline: Deadline) -> Lease | None:
        """The lease ``name`` for ``hold_seconds`` (plus a margin), or ``None`` if another
        invocation holds it; asked before ``deadline``."""
        now_ms = int(self.clock() * 1000)
        key = f"lease#{name}"
        owner = secrets.token_hex(8)
        until_ms = now_ms + int((hold_seconds + LEASE_MARGIN_SECONDS) * 1000)
        try:
            self.clients(deadline.within(CALL_SECONDS)).put_item(
                TableName=self.table,
                Item={
                    KEY_ATTRIBUTE: {"S": key},
                    "owner": {"S": owner},
                    "until_ms": {"N": str(until_ms)},
                    TTL_ATTRIBUTE: {"N": str(until_ms // 1000 + TTL_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(#pk) OR #until < :now",
                ExpressionAttributeNames={"#pk": KEY_ATTRIBUTE, "#until": "until_ms"},
                ExpressionAttributeValues={":now": {"N": str(now_ms)}},
            )
        except aws.answer_errors() as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise self._error(exc) from None
        except aws.unanswered_errors() as exc:
            raise self._error(exc) from None
        return Lease(self, key, owner)

    def _error(self, exc: Exception) -> LeaseError:
        return LeaseError(f"lease table {self.table}: {aws.describe_error(exc)}")

    def release(self, lease: Lease, deadline: Deadline) -> None:
        """Delete the lease if it is still ours (it may have run out and been taken)."""
        with contextlib.suppress(*aws.call_errors()):  # it runs out at the holder's timeout
            self.clients(deadline.within(CALL_SECONDS)).delete_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": lease.key}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": lease.owner}},
            )
