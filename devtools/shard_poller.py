"""What Lambda's SQS event source mapping does, against the emulator's shard queue.

``Poller.poll`` receives a message (batch size 1, as ``ShardEventSource`` sets it), builds the
event Lambda sends for it (``lambda_event``: SQS's API casing turned into the event's,
attribute values as strings), invokes the function with it, and reads the answer as
``ReportBatchItemFailures`` does: the records named in ``batchItemFailures`` stay in the queue,
the others are deleted; a function error leaves the whole batch to come back after the
visibility timeout. An answer that is not a partial batch response counts as a failure of every
record (an assumption: AWS documents the response's shape, not every malformed case), an
absent or empty ``batchItemFailures`` as success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

BATCH_SIZE = 1
"""Messages per invocation (the template's ``ShardEventSource`` ``BatchSize``)."""


def lambda_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda sends for ``messages`` as ReceiveMessage returned them."""
    return {"Records": [_record(message, queue_arn, region) for message in messages]}


def _record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: str(value) for name, value in message.get("Attributes", {}).items()},
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_ids(answer: object, ids: list[str]) -> set[str]:
    """The message ids a function's answer reports failed (see the module docstring)."""
    if answer is None or (isinstance(answer, Mapping) and not answer.get("batchItemFailures")):
        return set()
    failures = answer.get("batchItemFailures") if isinstance(answer, Mapping) else None
    listed = failures if isinstance(failures, list) else []
    named = [f.get("itemIdentifier") for f in listed if isinstance(f, Mapping)]
    if not named or not all(isinstance(i, str) and i in ids for i in named):
        return set(ids)
    return {str(i) for i in named}


@dataclass
class Polled:
    """One invocation the poller made: its event, the function's answer or error, what was kept."""

    event: dict[str, Any]
    answer: object = None
    error: str | None = None
    kept: set[str] = field(default_factory=set)
    """Message ids left in the queue (failed, or the invocation errored)."""


class Poller:
    """Receives from the shard queue and invokes the function with each batch, as Lambda does."""

    def __init__(
        self, client: Any, queue_url: str, queue_arn: str, invoke: Callable[[dict[str, Any]], object]
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.invoke = invoke
        self.region = str(client.meta.region_name)

    def poll(self, wait_seconds: int = 1) -> Polled | None:
        """One receive and, if it got a message, one invocation; ``None`` if the queue was empty."""
        messages = self.receive(wait_seconds)
        return self.deliver(messages) if messages else None

    def receive(self, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """One batch as the event source mapping receives it (every attribute asked for)."""
        answer = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def deliver(self, messages: list[dict[str, Any]]) -> Polled:
        """Invoke the function with the event of ``messages``; delete those it did not fail."""
        polled = Polled(lambda_event(messages, self.queue_arn, self.region))
        ids = [m["MessageId"] for m in messages]
        try:
            polled.answer = self.invoke(polled.event)
        except Exception as exc:  # a function error: the batch comes back after the visibility timeout
            polled.error = f"{type(exc).__name__}: {exc}"
            polled.kept = set(ids)
            return polled
        polled.kept = failed_ids(polled.answer, ids)
        for message in messages:
            if message["MessageId"] not in polled.kept:
                self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return polled

    def in_queue(self, in_flight: bool = True) -> int:
        """Messages visible (and in flight, being handled or hidden after a function error)."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=names)
        counts = [int(attributes["Attributes"][name]) for name in names[: 2 if in_flight else 1]]
        return sum(counts)

    def drain(self) -> list[Polled]:
        """Poll, as the only poller, until no message is visible; every invocation made, in
        order (a message hidden by a function error stays hidden for the visibility timeout)."""
        made: list[Polled] = []
        while True:
            polled = self.poll(wait_seconds=0)
            if polled is not None:
                made.append(polled)
            elif self.in_queue(in_flight=False) == 0:
                return made
