"""Sending shard messages: batches within SendMessageBatch's limits, each entry answered apart."""

from __future__ import annotations

from scrape_push.deadline import Deadline
from scrape_push.shards.queue import MAX_BATCH_ENTRIES, ShardQueue

from .fakes import FakeSqs


def queue(sqs: FakeSqs) -> ShardQueue:
    return ShardQueue(lambda _deadline: sqs, "https://sqs/q")


def test_messages_go_in_batches_of_ten_and_of_one_mebibyte_at_most() -> None:
    sqs = FakeSqs()
    big = "x" * 300_000
    bodies = [(shard, big if shard < 7 else "small") for shard in range(25)]
    assert queue(sqs).send(bodies, Deadline.after(30)) == {}
    sent = sorted(int(e["Id"].removeprefix("shard-")) for batch in sqs.batches for e in batch)
    assert sent == list(range(25))
    assert max(len(batch) for batch in sqs.batches) == MAX_BATCH_ENTRIES


def test_an_entry_sqs_failed_is_sent_once_more_and_one_the_sender_caused_is_not() -> None:
    transient = {"Id": "shard-1", "Code": "InternalError", "Message": "try again", "SenderFault": False}
    invalid = {"Id": "shard-2", "Code": "InvalidMessageContents", "Message": "bad", "SenderFault": True}
    twice = {"Id": "shard-3", "Code": "InternalError", "Message": "again", "SenderFault": False}
    sqs = FakeSqs({"shard-1": [transient], "shard-2": [invalid], "shard-3": [twice, twice]})
    unsent = queue(sqs).send([(s, "b") for s in range(4)], Deadline.after(30))
    assert unsent == {2: "SQS: InvalidMessageContents: bad", 3: "SQS: InternalError: again"}
    assert [len(batch) for batch in sqs.batches] == [4, 2]


def test_a_failed_call_leaves_every_shard_of_its_batch_unsent() -> None:
    unsent = queue(FakeSqs(broken=True)).send([(0, "a"), (1, "b")], Deadline.after(30))
    assert unsent == {0: "SQS: AccessDenied: no", 1: "SQS: AccessDenied: no"}


def test_a_failed_shard_s_message_is_made_visible_at_once() -> None:
    sqs = FakeSqs()
    assert queue(sqs).retry_now("handle-1", Deadline.after(30)) is None
    assert sqs.visible == [("handle-1", 0)]
    assert (
        queue(FakeSqs(broken=True)).retry_now("h", Deadline.after(30)) == "SQS: ReceiptHandleIsInvalid: gone"
    )
