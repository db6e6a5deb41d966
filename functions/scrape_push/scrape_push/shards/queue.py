"""The shard queue (``SHARD_QUEUE_URL``): the planner sends one message per shard; a worker whose
shard failed makes its message visible again at once, so the retry comes within the cycle.

Messages go out ``SendMessageBatch`` at a time — at most ``MAX_BATCH_ENTRIES`` entries and
``MAX_BATCH_BYTES`` in all — several batches at once; SQS answers each entry apart, and an
entry that failed for the service's own reasons is sent once more.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import aws
from ..deadline import Deadline

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576
"""SendMessageBatch: at most 10 messages, 1 MiB all together (botocore SQS model)."""
CALL_SECONDS = 8.0
"""The longest one SQS call may take (never past the deadline it is given)."""
PARALLEL_BATCHES = 8


class ShardQueue:
    """The queue of shard messages."""

    def __init__(self, clients: aws.ClientFor, url: str) -> None:
        self.clients = clients
        self.url = url

    def send(self, bodies: Sequence[tuple[int, str]], deadline: Deadline) -> dict[int, str]:
        """Send each ``(shard, body)``; the shards whose message was not sent, with why."""
        batches = _batches(bodies)
        failed: dict[int, str] = {}
        with ThreadPoolExecutor(max_workers=min(PARALLEL_BATCHES, max(1, len(batches)))) as pool:
            for result in pool.map(lambda batch: self._send_batch(batch, deadline), batches):
                failed.update(result)
        return failed

    def _send_batch(self, batch: list[tuple[int, str]], deadline: Deadline) -> dict[int, str]:
        refused: dict[int, str] = {}
        failed: dict[int, str] = {}
        pending = batch
        for _ in range(2):  # a second try for what failed on SQS's side
            by_id = {f"shard-{shard}": (shard, body) for shard, body in pending}
            entries = [{"Id": key, "MessageBody": body} for key, (_, body) in by_id.items()]
            try:
                answer: dict[str, Any] = self.clients(deadline.within(CALL_SECONDS)).send_message_batch(
                    QueueUrl=self.url, Entries=entries
                )
            except aws.call_errors() as exc:
                return refused | dict.fromkeys((s for s, _ in pending), f"SQS: {aws.describe_error(exc)}")
            failed, pending = {}, []
            for entry in answer.get("Failed", []):
                shard, body = by_id[entry["Id"]]
                reason = f"SQS: {entry.get('Code', 'Error')}: {entry.get('Message', '')}"[:200]
                if entry.get("SenderFault"):
                    refused[shard] = reason
                else:
                    failed[shard] = reason
                    pending.append((shard, body))
            if not pending:
                break
        return refused | failed

    def retry_now(self, receipt_handle: str, deadline: Deadline) -> str | None:
        """Make a received message visible again at once; why not, if it could not be."""
        try:
            self.clients(deadline.within(CALL_SECONDS)).change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
            )
        except aws.call_errors() as exc:
            return f"SQS: {aws.describe_error(exc)}"
        return None


def _batches(bodies: Sequence[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """``bodies`` in SendMessageBatch-sized groups, in order."""
    batches: list[list[tuple[int, str]]] = []
    size = 0
    for shard, body in bodies:
        if not batches or len(batches[-1]) == MAX_BATCH_ENTRIES or size + len(body) > MAX_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append((shard, body))
        size += len(body)
    return batches
