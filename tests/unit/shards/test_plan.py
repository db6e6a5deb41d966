"""The planner: how many shards, what each message holds, and what it says when it cannot send."""

from __future__ import annotations

from typing import Any

import pytest
from scrape_push.config.source import parse_config
from scrape_push.deadline import Deadline
from scrape_push.pipeline import CycleResult
from scrape_push.runtime import Runtime
from scrape_push.settings import Settings
from scrape_push.shards import plan
from scrape_push.shards.assign import target_key
from scrape_push.shards.message import decode
from scrape_push.shards.plan import Planner
from scrape_push.shards.queue import ShardQueue
from scrape_push.shards.sizing import DEFAULT_SERIES_PER_TARGET
from scrape_push.shards.state import PlanState, ShardState

from .fakes import FakeSqs, FakeTable


def config(targets: int, shards: int = 0) -> str:
    addresses = ", ".join(f"'10.0.{i // 250}.{i % 250}:9100'" for i in range(targets))
    return (
        f"scrape_configs: [{{job_name: node, static_configs: [{{targets: [{addresses}]}}]}}]\n"
        "remote_write: [{url: 'http://127.0.0.1:9/api/v1/write'}]\n"
        f"runtime: {{shards: {shards}}}\n"
    )


class Fixture:
    def __init__(
        self,
        text: str,
        table: FakeTable | None = None,
        with_queue: bool = True,
        concurrency: int | None = None,
    ) -> None:
        self.loaded = parse_config(text)
        self.pipeline = Runtime(Settings()).pipeline(self.loaded, None)
        self.ran: list[dict[str, Any]] = []
        self.pipeline.run = self._run  # type: ignore[method-assign]
        self.table = table or FakeTable()
        self.sqs = FakeSqs()
        self.state = ShardState(lambda _d: self.table, "t", "*")
        queue = ShardQueue(lambda _d: self.sqs, "https://sqs/q") if with_queue else None
        self.planner = Planner(self.pipeline, self.state, queue, concurrency)

    def _run(self, deadline: Deadline, memory_mb: int | None = None, **kwargs: Any) -> CycleResult:
        self.ran.append(kwargs)
        return CycleResult()

    def plan(self, fixed: int = 0, memory_mb: int = 1769, seconds: float = 58.0) -> Any:
        return self.planner.plan(Deadline.after(seconds), memory_mb, fixed)


def test_a_fleet_that_fits_runs_here_as_shard_zero_with_no_message() -> None:
    fixture = Fixture(config(10))
    planned = fixture.plan()
    assert planned.cycle is not None and len(fixture.ran) == 1 and fixture.sqs.batches == []
    assert planned.figures.to_dict() | {"capacity": 0} == {
        "planned": 1,
        "sent": 0,
        "mode": "automatic",
        "series": 10 * DEFAULT_SERIES_PER_TARGET,
        "capacity": 0,
        "targets": [10],
        "unsent": [],
        "warnings": [],
    }
    assert fixture.ran[0]["found"] is planned.found  # targets built once, in the planner


def test_a_fixed_count_sends_each_shard_its_targets_once() -> None:
    fixture = Fixture(config(40, shards=3))
    planned = fixture.plan(fixed=3)
    messages = [decode(body) for body in fixture.sqs.bodies()]
    assert sorted(m.shard for m in messages) == [0, 1, 2] and {m.shards for m in messages} == {3}
    assert sorted(t.url for m in messages for t in m.targets) == sorted(t.url for t in planned.found.targets)
    assert {m.digest for m in messages} == {fixture.loaded.digest}
    cycle = {(m.cycle_ms, m.deadline_ms) for m in messages}
    assert len(cycle) == 1 and 57_000 <= next(iter(cycle))[1] - next(iter(cycle))[0] <= 58_000
    assert (planned.figures.sent, planned.figures.mode, planned.cycle) == (3, "fixed", None)
    assert sum(planned.figures.targets) == 40 and fixture.ran == []


def test_more_shards_than_the_event_source_runs_at_once_is_a_warning_and_still_sent() -> None:
    planned = Fixture(config(40, shards=4), concurrency=3).plan(fixed=4)
    assert planned.figures.sent == 4
    assert planned.figures.warnings == [
        "4 shards but at most 3 shard invocations at once (ShardMaxConcurrency): the rest wait in "
        "the queue and may come too late for their cycle; raise ShardMaxConcurrency to at least "
        "the shard count"
    ]
    assert Fixture(config(40, shards=3), concurrency=3).plan(fixed=3).figures.warnings == []


def test_the_automatic_count_follows_the_series_recent_cycles_saw() -> None:
    fixture = Fixture(config(40))
    found = fixture.pipeline.targets()
    fixture.state.save_series(0, {target_key(t): 60_000 for t in found.targets}, 1, Deadline.after(5))
    planned = fixture.plan(memory_mb=1769)
    capacity = planned.figures.capacity
    assert planned.figures.series == 40 * 60_000
    assert planned.figures.planned == -(-40 * 60_000 // capacity) > 1
    stored = fixture.state.load_plan(Deadline.after(5))
    assert stored is not None and stored.shards == planned.figures.planned
    assert [era.shards for era in stored.eras] == [1]  # the count it left is remembered


def test_a_changed_count_tells_each_shard_what_it_owes() -> None:
    fixture = Fixture(config(60, shards=2))
    fixture.state.save_plan(PlanState(4), Deadline.after(5))
    fixture.plan(fixed=2)
    messages = {m.shard: m for m in (decode(b) for b in fixture.sqs.bodies())}
    assert messages[0].lineage.inherits[0][0] == 2 and messages[1].lineage.inherits[0][0] == 3
    assert {s for m in messages.values() for s, _ in m.lineage.waits_for} <= {2, 3}
    stored = fixture.state.load_plan(Deadline.after(5))
    assert stored is not None and [e.shards for e in stored.eras] == [4] and stored.shards == 2


def test_each_shard_is_told_which_targets_its_last_cycle_had_that_left_the_fleet() -> None:
    fixture = Fixture(config(10, shards=3))
    found = fixture.pipeline.targets()
    keys = [target_key(t) for t in found.targets]
    fixture.state.save_plan(PlanState(2), Deadline.after(5))  # the last cycle had two shards
    gone = [2**63 + 1, 2**63 + 2, 2**63 + 3]  # identities not among this cycle's targets
    fixture.state.save_series(0, {keys[0]: 1, gone[0]: 1}, 1, Deadline.after(5))
    fixture.state.save_series(1, {keys[1]: 1, gone[1]: 1}, 1, Deadline.after(5))
    fixture.state.save_series(2, {gone[2]: 1}, 1, Deadline.after(5))  # an older count's: not the last cycle's
    fixture.plan(fixed=3)
    left = {m.shard: m.left for m in (decode(b) for b in fixture.sqs.bodies())}
    assert left == {0: {gone[0]}, 1: {gone[1]}, 2: frozenset()}


def test_a_cycle_sent_to_shards_leaves_the_planners_own_scrape_memory_behind() -> None:
    fixture = Fixture(config(10, shards=3))
    scraper, target = fixture.pipeline.scraper, fixture.pipeline.targets().targets[0]
    cache = scraper.series_cache(target)  # as a cycle the planner ran itself left it
    told: list[list[int]] = []
    for sink, _ in fixture.pipeline.sinks:
        sink.forget = told.append  # type: ignore[method-assign]
    fixture.plan(fixed=3)
    assert scraper.series_cache(target) is not cache  # a cycle it runs again starts afresh
    assert set(cache.refs_held()) <= set(told[0])  # and the sinks forgot its series


def test_without_a_queue_the_cycle_runs_here_and_says_why() -> None:
    fixture = Fixture(config(10, shards=4), with_queue=False)
    planned = fixture.plan(fixed=4)
    assert planned.cycle is not None and planned.figures.planned == 1
    (warning,) = planned.figures.warnings
    assert warning == (
        "the cycle wants 4 shards but the function has no shard queue (SHARD_QUEUE_URL): "
        "it runs in one invocation"
    )


def test_a_shard_message_past_sqs_s_limit_is_not_sent_and_the_summary_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fixture = Fixture(config(200, shards=2))
    fixture.plan(fixed=2)
    sizes = sorted(len(body) for body in fixture.sqs.bodies())
    assert sizes[0] < sizes[1]  # the two shards' target lists differ
    fixture.sqs.batches.clear()
    limit = sum(sizes) // 2
    monkeypatch.setattr(plan, "MAX_MESSAGE_BYTES", limit)
    planned = fixture.plan(fixed=2)
    (unsent,) = planned.figures.unsent  # the larger one
    assert planned.figures.sent == 1 and len(fixture.sqs.bodies()) == 1
    targets = planned.figures.targets[unsent]
    assert planned.figures.unsent[unsent] == (
        f"shard {unsent} of 2: its message ({sizes[1]:,} bytes for {targets} targets) "
        f"is over SQS's {limit:,}; raise runtime.shards, or set it to 0 (automatic)"
    )


def test_an_unreadable_plan_is_a_warning_and_owes_nothing_it_cannot_know() -> None:
    fixture = Fixture(config(10, shards=2), table=FakeTable(broken=True))
    planned = fixture.plan(fixed=2)
    assert planned.figures.sent == 2
    assert planned.figures.warnings[0].startswith(
        "shard plan not read (state table t: ResourceNotFoundException"
    )
    assert all(decode(b).lineage.waits_for == () for b in fixture.sqs.bodies())


def test_a_stable_plan_is_not_written_again_until_its_refresh() -> None:
    fixture = Fixture(config(10, shards=2))
    fixture.plan(fixed=2)
    writes = fixture.table.calls.count("put_item")
    fixture.plan(fixed=2)
    assert fixture.table.calls.count("put_item") == writes
