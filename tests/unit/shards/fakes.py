"""Stand-ins for the state table and the shard queue (no network)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class FakeTable:
    """The BatchGetItem, BatchWriteItem and PutItem calls ``ShardState`` makes, on a dict."""

    def __init__(self, unprocessed: int = 0, broken: bool = False) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.unprocessed = unprocessed
        self.broken = broken
        self.calls: list[str] = []

    def put_item(self, TableName: str, Item: dict[str, Any]) -> dict[str, Any]:
        self._call("put_item")
        self.items[Item["pk"]["S"]] = Item
        return {}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        from tests.support.otlp import checked_batch_write

        self._call("batch_write_item")
        ((_, requests),) = RequestItems.items()
        for item in checked_batch_write(requests):
            self.items[item["pk"]["S"]] = item
        return {}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self._call("batch_get_item")
        ((table, request),) = RequestItems.items()
        keys = [key["pk"]["S"] for key in request["Keys"]]
        held, keys = keys[: self.unprocessed], keys[self.unprocessed :]
        self.unprocessed = 0
        found = [self.items[k] for k in keys if k in self.items]
        answer: dict[str, Any] = {"Responses": {table: found}}
        if held:
            answer["UnprocessedKeys"] = {table: {"Keys": [{"pk": {"S": k}} for k in held]}}
        return answer

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.broken:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, name)


class FakeSqs:
    """SendMessageBatch with scripted per-entry failures (checking SQS's batch limits), and
    ChangeMessageVisibility."""

    def __init__(self, fail: dict[str, list[dict[str, Any]]] | None = None, broken: bool = False) -> None:
        self.batches: list[list[dict[str, str]]] = []
        self.fail = fail or {}
        self.broken = broken
        self.visible: list[tuple[str, int]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        from scrape_push.shards.queue import MAX_BATCH_BYTES, MAX_BATCH_ENTRIES

        if self.broken:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessageBatch")
        assert 1 <= len(Entries) <= MAX_BATCH_ENTRIES
        assert sum(len(e["MessageBody"]) for e in Entries) <= MAX_BATCH_BYTES
        assert len({e["Id"] for e in Entries}) == len(Entries)
        self.batches.append(Entries)
        failed = [self.fail[e["Id"]].pop(0) for e in Entries if self.fail.get(e["Id"])]
        ok = [{"Id": e["Id"]} for e in Entries if e["Id"] not in {f["Id"] for f in failed}]
        return {"Successful": ok, "Failed": failed}

    def change_message_visibility(self, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        if self.broken:
            raise ClientError({"Error": {"Code": "ReceiptHandleIsInvalid", "Message": "gone"}}, "Change")
        self.visible.append((ReceiptHandle, VisibilityTimeout))

    def bodies(self) -> list[str]:
        return [entry["MessageBody"] for batch in self.batches for entry in batch]
