"""A shard invocation's record: which events are shards, when a message is late, what a failure does."""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push.runtime import Runtime
from scrape_push.settings import Settings
from scrape_push.shards import worker
from scrape_push.shards.handoff import PlannedTarget
from scrape_push.shards.message import ShardMessage, encode
from scrape_push.shards.queue import ShardQueue

from devtools.local_invoke import LocalContext

T0 = 1_800_000_000_000


def message(deadline_ms: int, timeout: float = 10.0, cycle_ms: int = T0) -> ShardMessage:
    target = PlannedTarget("node", "http://127.0.0.1:9/metrics", (("job", "node"),), timeout, 60.0)
    return ShardMessage(cycle_ms, deadline_ms, "d", None, 1, 2, (target,))


def record(body: object, receive_count: str = "1") -> dict[str, Any]:
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count},
        "eventSource": "aws:sqs",
    }


@pytest.mark.parametrize(
    ("event", "shards"),
    [
        ({"Records": [record("x")]}, True),
        ({"Records": [record("x"), {**record("y"), "eventSource": "aws:kinesis"}]}, False),
        ({"Records": []}, False),
        ({"version": "0", "source": "aws.scheduler"}, False),
        ({"jobs": ["a"]}, False),
        ([], False),
        (None, False),
    ],
)
def test_an_sqs_event_is_a_shard_invocation_and_nothing_else_is(event: object, shards: bool) -> None:
    assert (worker.shard_records(event) is not None) is shards


def test_a_message_is_late_when_its_longest_scrape_and_the_send_reserve_no_longer_fit() -> None:
    sixty = message(T0 + 58_000)
    assert not worker.late(sixty, T0 + 30_000)  # 28 s left: 10 s timeout + 8 s reserve fit
    assert not worker.late(sixty, T0 + 40_000)
    assert worker.late(sixty, T0 + 40_001)
    assert worker.late(sixty, T0 + 60_000)
    short = message(T0 + 6_000)  # a window shorter than that: half of it must be left
    assert not worker.late(short, T0 + 3_000) and worker.late(short, T0 + 3_001)


class Calls:
    def __init__(self) -> None:
        self.visible: list[str] = []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    made = Calls()

    def retry_now(self: ShardQueue, receipt: str, deadline: object) -> None:
        made.visible.append(receipt)

    monkeypatch.setattr(ShardQueue, "retry_now", retry_now)
    return made


def run(body: object, receive_count: str = "1", now_ms: int = T0 + 1000) -> worker.ShardRun:
    runtime = Runtime(Settings(config_parameter="/p", shard_queue_url="https://sqs/q"))
    return worker.run(record(body, receive_count), LocalContext(30), runtime, now_ms)


def test_a_record_that_is_not_a_shard_message_fails_and_is_made_visible_for_its_retry(calls: Calls) -> None:
    ran = run('{"hello": 1}')
    assert (ran.status, ran.message_id, ran.attempt) == ("failed", "m-1", 1)
    assert ran.error is not None and ran.error.startswith("not a shard message: field 'format'")
    assert calls.visible == ["r-1"]


def test_a_late_message_is_dropped_and_a_late_retry_fails_towards_the_dead_letter_queue(calls: Calls) -> None:
    body = encode(message(T0 + 58_000))
    dropped = run(body, "1", now_ms=T0 + 59_000)
    assert (dropped.status, dropped.error, calls.visible) == ("late", None, [])
    retried = run(body, "2", now_ms=T0 + 59_000)
    assert retried.status == "failed" and retried.attempt == 2
    assert retried.error == "shard 1 of 2 retried after its cycle's deadline: the first try failed"
    assert calls.visible == ["r-1"]
    assert retried.to_dict()["shard"] == 1 and retried.to_dict()["status"] == "failed"
