"""The state table's batched writes: DynamoDB's BatchWriteItem limits, enforced before sending,
and what it leaves unprocessed sent again within the deadline."""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push.deadline import Deadline
from scrape_push.statetable import (
    MAX_BATCH_WRITE_ITEMS,
    MAX_ITEM_BYTES,
    MAX_UNPROCESSED_RETRIES,
    Items,
    TableError,
    item_bytes,
)

from tests.support.otlp import MemoryTable


def item(key: str, blob: bytes = b"") -> dict[str, Any]:
    return {"pk": {"S": key}, "blob": {"B": blob}, "n": {"N": "12"}}


def test_an_items_size_counts_names_and_values_as_dynamodb_does() -> None:
    assert item_bytes(item("ké", b"xyz")) == len("pk") + 3 + len("blob") + 3 + len("n") + 2


def test_unprocessed_items_are_sent_again_until_written() -> None:
    table = MemoryTable(unprocessed_writes=1)
    Items(table, "t").put_all([item("a"), item("b")], Deadline.after(10))
    assert table.calls == ["batch_write_item", "batch_write_item"] and set(table.items) == {"a", "b"}


def test_items_dynamodb_keeps_refusing_are_an_error_after_the_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = MemoryTable()
    real = table.batch_write_item

    def throttled(RequestItems: dict[str, Any]) -> dict[str, Any]:
        table.unprocessed_writes = 1
        return real(RequestItems)

    monkeypatch.setattr(table, "batch_write_item", throttled)
    monkeypatch.setattr("scrape_push.statetable.time.sleep", lambda _seconds: None)
    with pytest.raises(TableError, match="1 items left unprocessed by BatchWriteItem"):
        Items(table, "t").put_all([item("a"), item("b")], Deadline.after(10))
    assert table.calls.count("batch_write_item") == MAX_UNPROCESSED_RETRIES + 1 and set(table.items) == {"b"}


def test_writes_over_batchwriteitems_limits_are_refused_before_sending() -> None:
    table = MemoryTable()
    with pytest.raises(TableError, match="over BatchWriteItem's limits"):
        Items(table, "t").put_all(
            [item(str(i)) for i in range(MAX_BATCH_WRITE_ITEMS + 1)], Deadline.after(10)
        )
    with pytest.raises(TableError, match="over DynamoDB's 409600"):
        Items(table, "t").put_all([item("a", b"x" * MAX_ITEM_BYTES)], Deadline.after(10))
    assert table.calls == []
