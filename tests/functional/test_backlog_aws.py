"""The backlog's AWS parts against the emulator: S3 objects in order, DynamoDB leases."""

from __future__ import annotations

from scrape_push.backlog.lease import LEASE_MARGIN_SECONDS, Leases
from scrape_push.backlog.spool import Entry, Item
from scrape_push.backlog.store import BacklogStore, StoreError, sink_id
from scrape_push.deadline import Deadline

from .conftest import Emulated

BUCKET = "scrape-push-backlog"
LONG = Deadline.after(3600.0)


def item(scraped_ms: int, *bodies: bytes) -> Item:
    return Item(
        "remote_write/r",
        "remote_write",
        scraped_ms,
        scraped_ms,
        "failed",
        tuple(Entry(b, 1, 0) for b in bodies),
    )


def store(emulated: Emulated, sid: str = "rw-1") -> BacklogStore:
    s3 = emulated.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return BacklogStore(BUCKET, sid, lambda _: s3)


def test_items_list_oldest_first_with_their_sizes_and_counts(emulated: Emulated) -> None:
    backlog = store(emulated)
    later = backlog.put(item(1_800_000_060_000, b"c"), LONG)
    earlier = backlog.put(item(1_800_000_000_000, b"a", b"bb"), LONG)
    listed, foreign = backlog.list(LONG)
    assert listed == [earlier, later] and foreign == []
    assert (earlier.samples, earlier.size) == (
        2,
        len(emulated.client("s3").get_object(Bucket=BUCKET, Key=earlier.key)["Body"].read()),
    )
    assert backlog.get(earlier, LONG) == item(1_800_000_000_000, b"a", b"bb")


def test_what_is_left_of_an_item_replaces_it_in_the_same_place(emulated: Emulated) -> None:
    backlog = store(emulated)
    first = backlog.put(item(1_800_000_000_000, b"a", b"b"), LONG)
    second = backlog.put(item(1_800_000_000_001, b"c"), LONG)
    rest = backlog.replace(first, item(1_800_000_000_000, b"b"), LONG)
    listed, _ = backlog.list(LONG)
    assert listed == [rest, second] and rest.samples == 1
    assert backlog.get(rest, LONG).entries == (Entry(b"b", 1, 0),)


def test_rejected_requests_go_aside_and_are_not_listed(emulated: Emulated) -> None:
    backlog = store(emulated)
    key = backlog.reject(item(1_800_000_000_000, b"x"), LONG)
    assert key.startswith("rejected/rw-1/")
    assert backlog.list(LONG) == ([], [])
    head = emulated.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"] == {
        "sink": "remote_write/r",
        "samples": "1",
        "first-failure-ms": "1800000000000",
        "reason": "failed",
    }


def test_sink_folders_are_distinct_per_sink_and_job_group(emulated: Emulated) -> None:
    ids = {sink_id("remote_write/r", "*"), sink_id("remote_write/r", "a,b"), sink_id("graphite/r", "*")}
    assert len(ids) == 3
    assert all(i.startswith(("remote_write_r-", "graphite_r-")) for i in ids)


def test_a_missing_bucket_is_a_store_error_naming_it(emulated: Emulated) -> None:
    backlog = BacklogStore("no-such-bucket", "rw-1", lambda _: emulated.client("s3"))
    try:
        backlog.list(LONG)
    except StoreError as exc:
        assert str(exc).startswith("backlog bucket no-such-bucket: list_objects_v2 failed: NoSuchBucket")
    else:
        raise AssertionError("listing a missing bucket must fail")


def test_one_invocation_at_a_time_holds_a_sinks_lease(emulated: Emulated, state_table: str) -> None:
    # Four invocations try one after another: DynamoDB's conditional PutItem is atomic per item,
    # but the emulator's is not across concurrent requests (two winners seen under load), so
    # racing threads would test the emulator. What is ours is the condition each write carries.
    invocations = [Leases(lambda _: emulated.client("dynamodb"), state_table) for _ in range(4)]
    results = [leases.acquire("sink-a", 60, LONG) for leases in invocations]
    held = [r for r in results if r is not None]
    assert len(held) == 1 and results[0] is held[0]
    assert invocations[1].acquire("sink-b", 60, LONG) is not None  # another sink is independent
    held[0].release(LONG)
    assert invocations[2].acquire("sink-a", 60, LONG) is not None


def test_a_lease_whose_holder_can_no_longer_be_running_can_be_taken(
    emulated: Emulated, state_table: str
) -> None:
    now = [1_800_000_000.0]
    leases = Leases(lambda _: emulated.client("dynamodb"), state_table, clock=lambda: now[0])
    stale = leases.acquire("sink-a", 30, LONG)
    assert stale is not None
    now[0] += 30 + LEASE_MARGIN_SECONDS - 1
    assert leases.acquire("sink-a", 30, LONG) is None
    now[0] += 2
    fresh = leases.acquire("sink-a", 30, LONG)
    assert fresh is not None
    stale.release(LONG)  # no longer ours: must not free the new holder's lease
    assert leases.acquire("sink-a", 30, LONG) is None
