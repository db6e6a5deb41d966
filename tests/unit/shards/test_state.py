"""The shard plan and series counts in the state table: compact, merged newest first, bounded."""

from __future__ import annotations

import hashlib

import pytest
from scrape_push.deadline import Deadline
from scrape_push.scrape import ScrapeResult
from scrape_push.shards.assign import target_key
from scrape_push.shards.lineage import Era
from scrape_push.shards.state import (
    MAX_COUNTED_TARGETS,
    PlanState,
    ShardState,
    StateError,
    pack,
    seen_series,
    unpack,
    write_seen,
)
from scrape_push.statetable import MAX_ITEM_BYTES, WriteBatch
from scrape_push.targets import Target

from .fakes import FakeTable

GROUP_DIGEST = hashlib.sha256(b"*").hexdigest()[:16]


def state(table: FakeTable, group: str = "*", now: float = 1_800_000_000.0) -> ShardState:
    return ShardState(lambda _deadline: table, "t", group, clock=lambda: now)


def test_series_counts_pack_in_twelve_bytes_a_target_the_largest_first_within_an_item() -> None:
    counts = {key: key % 5000 for key in range(1, MAX_COUNTED_TARGETS + 500)}
    blob = pack(counts)
    assert len(blob) == 12 * MAX_COUNTED_TARGETS < MAX_ITEM_BYTES - 1024
    kept = unpack(blob)
    assert min(kept.values()) >= sorted(counts.values())[-MAX_COUNTED_TARGETS]
    assert unpack(pack({7: 2**40})) == {7: 2**32 - 1}
    assert unpack(blob + b"xx") == kept  # a torn tail costs nothing but itself


def test_a_plan_reads_back_and_the_newest_count_of_a_target_wins() -> None:
    table = FakeTable()
    store = state(table)
    deadline = Deadline.after(10)
    assert store.load_plan(deadline) is None
    plan = PlanState(3, 5, (Era(4, 10), Era(2, 20)))
    store.save_plan(plan, deadline)
    loaded = store.load_plan(deadline)
    assert loaded is not None and loaded.same_as(plan) and loaded.written_ms == 1_800_000_000_000
    assert loaded.high() == 4
    store.save_series(0, {1: 10, 2: 20}, cycle_ms=100, deadline=deadline)
    store.save_series(3, {2: 25, 3: 30}, cycle_ms=200, deadline=deadline)  # target 2 moved shards
    store.save_series(1, {2: 5}, cycle_ms=50, deadline=deadline)  # an older count
    counts = store.load_series(4, deadline)
    assert counts.merged == {1: 10, 2: 25, 3: 30}
    assert counts.by_shard == {0: {1, 2}, 1: {2}, 3: {2, 3}}  # what each shard's last cycle scraped


def test_job_groups_keep_their_plans_apart() -> None:
    table = FakeTable()
    state(table, "*").save_plan(PlanState(2), Deadline.after(10))
    assert state(table, "a,b").load_plan(Deadline.after(10)) is None


def test_unprocessed_keys_are_asked_for_again() -> None:
    table = FakeTable(unprocessed=2)
    store = state(table)
    for shard in range(3):
        store.save_series(shard, {shard + 1: 1}, 1, Deadline.after(10))
    assert store.load_series(3, Deadline.after(10)).merged == {1: 1, 2: 1, 3: 1}
    assert table.calls.count("batch_get_item") == 2


def test_a_table_that_fails_is_one_error_naming_it() -> None:
    store = state(FakeTable(broken=True))
    with pytest.raises(StateError, match="state table t: ResourceNotFoundException: no table"):
        store.load_plan(Deadline.after(10))
    warning = write_seen(store, 0, {1: 1}, 1, Deadline.after(10))
    assert warning == "series counts not written: state table t: ResourceNotFoundException: no table"
    assert write_seen(None, 0, {1: 1}, 1, Deadline.after(10)) is None


def test_a_down_target_keeps_the_count_it_had() -> None:
    target = Target(
        "node", "http://h:1/metrics", (("instance", "h:1"), ("job", "node")), (), 10, 60, False, True, 1
    )
    other = Target(
        "node", "http://h:2/metrics", (("instance", "h:2"), ("job", "node")), (), 10, 60, False, True, 1
    )
    up = ScrapeResult(target, True, 0.1, 900, None, [])
    down = ScrapeResult(other, False, 0.1, 0, "connection refused", [])
    assert seen_series([up, down], {target_key(other): 1200}) == {
        target_key(target): 900,
        target_key(other): 1200,
    }


def test_the_items_a_cycle_leaves_go_in_the_series_counts_request_and_are_told_how_it_went() -> None:
    table = FakeTable()
    told: list[str | None] = []
    joined = WriteBatch()
    joined.add({"pk": {"S": "stale1#g"}, "record": {"B": b"z"}}, told.append)
    assert write_seen(state(table), 0, {1: 1}, 1, Deadline.after(10), joined) is None
    assert table.calls == ["batch_write_item"] and set(table.items) == {
        "shards#" + GROUP_DIGEST + "#0",
        "stale1#g",
    }
    assert told == [None] and joined.items() == []
    failing = WriteBatch()
    failing.add({"pk": {"S": "stale1#g"}}, told.append)
    assert write_seen(state(FakeTable(broken=True)), 0, {1: 1}, 1, Deadline.after(10), failing)
    assert told == [None, "ResourceNotFoundException: no table"]
