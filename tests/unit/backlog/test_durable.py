"""The durable sink: nothing lost, nothing twice, never out of order; loss only by rule, counted."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from scrape_push.backlog.config import BacklogConfig
from scrape_push.backlog.durable import DurableDelivery
from scrape_push.backlog.lease import Lease, LeaseError
from scrape_push.backlog.spool import load
from scrape_push.backlog.store import BacklogStore
from scrape_push.deadline import Deadline
from scrape_push.pipeline import push_all
from scrape_push.sinks.base import Request, Result, SinkReport

from .fakes import MemoryS3, ScriptedSink, samples

T0 = 1_800_000_000.0
FOLDER = "backlog/fake-id/"


@dataclass
class FakeLeases:
    """Grants the lease unless ``busy``; ``broken`` makes the table fail."""

    busy: bool = False
    broken: bool = False
    released: list[str] = field(default_factory=list)

    def acquire(self, name: str, hold_seconds: float, deadline: Deadline) -> Lease | None:
        if self.broken:
            raise LeaseError("lease table t: ServiceUnavailable")
        if self.busy:
            return None
        return Lease(self, name, "me")  # type: ignore[arg-type]

    def release(self, lease: Lease, deadline: Deadline) -> None:
        self.released.append(lease.key)


@dataclass
class World:
    kind: ScriptedSink = field(default_factory=ScriptedSink)
    s3: MemoryS3 = field(default_factory=MemoryS3)
    leases: FakeLeases = field(default_factory=FakeLeases)
    now: float = T0

    def cycle(self, *names: str, config: BacklogConfig | None = None, seconds: float = 60.0) -> SinkReport:
        """One cycle at ``now`` (then a minute later), as a pipeline drives a delivery."""
        store = BacklogStore("bucket", "fake-id", lambda _: self.s3)
        at = self.now
        sink = DurableDelivery(
            self.kind,
            store,
            self.leases,
            config or BacklogConfig(),
            int(at * 1000),
            clock=lambda: at,  # type: ignore[arg-type]
        )
        deadline = Deadline.after(seconds)
        sink.open(deadline)
        try:
            report = sink.push(samples(*names), deadline)
        finally:
            sink.close()
        self.now += 60.0
        return report

    def waiting(self) -> list[str]:
        return self.s3.keys(FOLDER)


def test_a_healthy_sink_sends_directly_and_keeps_nothing() -> None:
    world = World()
    report = world.cycle("a", "b")
    assert world.kind.delivered == [b"a", b"b"]
    assert (report.sent, report.spilled, report.failed, report.ok) == (2, 0, 0, True)
    assert report.backlog is not None and report.backlog.to_dict()["objects"] == 0
    assert world.s3.objects == {}
    assert world.leases.released == ["fake-id"]


def test_an_outage_delays_data_and_recovery_delivers_it_in_scrape_order_once() -> None:
    world = World()
    world.kind.down = True
    first = world.cycle("a1", "b1")
    second = world.cycle("a2", "b2")
    assert (first.spilled, first.failed, first.ok) == (2, 0, False)
    assert (second.spilled, second.failed) == (2, 0)
    assert second.backlog is not None and (second.backlog.objects, second.backlog.samples) == (2, 4)
    assert second.backlog.oldest_age_seconds == 60.0
    assert [load(world.s3.objects[k]).reason for k in world.waiting()] == ["failed", "behind_backlog"]
    world.kind.down = False
    third = world.cycle("a3", "b3")
    assert world.kind.delivered == [b"a1", b"b1", b"a2", b"b2", b"a3", b"b3"]
    assert third.backlog is not None and (third.backlog.replayed, third.sent, third.spilled) == (4, 2, 0)
    assert (third.backlog.objects, third.backlog.oldest_age_seconds, third.ok) == (0, 0.0, True)
    assert world.waiting() == []


def test_the_first_failure_time_is_kept_as_items_queue_behind_it() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1")
    world.cycle("a2")
    first, second = (load(world.s3.objects[k]) for k in world.waiting())
    assert first.first_failure_ms == second.first_failure_ms == int(T0 * 1000)
    assert (first.scraped_ms, second.scraped_ms) == (int(T0 * 1000), int((T0 + 60) * 1000))


def test_without_replay_time_new_batches_join_the_end_instead_of_overtaking() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1")
    world.kind.down = False
    short = world.cycle("a2", config=BacklogConfig(replay_time=0.5))
    assert world.kind.delivered == []
    assert (short.spilled, short.sent) == (1, 0)
    world.cycle("a3")
    assert world.kind.delivered == [b"a1", b"a2", b"a3"]


def test_a_partly_replayed_item_keeps_only_what_is_left_in_its_place() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1", "b1", "c1", "d1")
    world.cycle("a2")
    world.kind.down = False
    world.kind.accept = 2
    partial = world.cycle("a3")
    assert world.kind.delivered == [b"a1", b"b1"]
    assert partial.backlog is not None and partial.backlog.replayed == 2
    left = [load(world.s3.objects[k]) for k in world.waiting()]
    assert [[e.body for e in item.entries] for item in left] == [[b"c1", b"d1"], [b"a2"], [b"a3"]]
    world.kind.accept = None
    world.cycle("a4")
    assert world.kind.delivered == [b"a1", b"b1", b"c1", b"d1", b"a2", b"a3", b"a4"]


def test_refused_requests_are_counted_kept_for_inspection_and_never_replayed() -> None:
    world = World()
    world.kind.refuse = {b"b"}
    report = world.cycle("a", "b", "c")
    assert (report.sent, report.rejected, report.spilled, report.ok) == (2, 1, 0, False)
    (kept,) = world.s3.keys("rejected/fake-id/")
    item = load(world.s3.objects[kept])
    assert ([e.body for e in item.entries], item.reason, item.error) == (
        [b"b"],
        "rejected",
        "HTTP 400: out of order",
    )
    assert world.waiting() == []
    world.cycle("d")
    assert world.kind.delivered == [b"a", b"c", b"d"]


def test_a_request_refused_on_replay_is_kept_aside_and_the_rest_delivered() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1", "b1")
    world.kind.down = False
    world.kind.refuse = {b"a1"}
    report = world.cycle("a2")
    assert report.backlog is not None and (report.backlog.rejected, report.backlog.replayed) == (1, 1)
    assert world.kind.delivered == [b"b1", b"a2"]
    assert len(world.s3.keys("rejected/fake-id/")) == 1 and world.waiting() == []


def test_an_invocation_that_cannot_take_the_lease_queues_behind_the_holder() -> None:
    world = World()
    world.leases.busy = True
    report = world.cycle("a", "b")
    assert world.kind.delivered == []
    assert report.backlog is not None and report.backlog.lease == "busy"
    assert (report.spilled, report.failed) == (2, 0)
    assert [load(world.s3.objects[k]).reason for k in world.waiting()] == ["lease_busy"]
    assert "another invocation is sending to this sink" in report.warnings[0]
    world.leases.busy = False
    world.cycle("c")
    assert world.kind.delivered == [b"a", b"b", b"c"]


def test_an_item_spilled_late_by_an_earlier_cycle_is_still_replayed_first() -> None:
    world = World()
    world.leases.busy = True
    world.now = T0 + 60
    world.cycle("later")  # the overlapping, later cycle queues first ...
    world.now = T0
    world.kind.down = True
    world.leases.busy = False
    world.cycle("earlier")  # ... the earlier cycle's holder fails to send afterwards
    world.kind.down = False
    world.now = T0 + 120
    world.cycle("now")
    assert world.kind.delivered == [b"earlier", b"later", b"now"]


def queue_later(world: World, name: str, seconds: float = 1.0) -> None:
    """An overlapping invocation that scraped ``seconds`` after T0 finds the lease busy and queues
    its batch; the world is left at T0, its lease free again."""
    world.leases.busy = True
    world.now = T0 + seconds
    world.cycle(name)
    world.leases.busy = False
    world.now = T0


def test_the_holder_sends_its_own_batch_before_a_later_cycles_queued_one() -> None:
    """An overlapping invocation that scraped later found the lease busy and queued its batch;
    the holder, which scraped first, finds it when it lists the backlog: its own batch goes
    first, the later one after it (never the other way round: receivers refuse older samples)."""
    world = World()
    queue_later(world, "later")
    report = world.cycle("earlier")
    assert world.kind.delivered == [b"earlier", b"later"]
    assert report.backlog is not None and (report.sent, report.backlog.replayed) == (1, 1)
    assert (report.backlog.objects, report.spilled, report.ok) == (0, 0, True)


def test_older_items_are_replayed_before_the_holders_batch_and_later_ones_after() -> None:
    world = World()
    world.kind.down = True
    world.now = T0 - 60
    world.cycle("older")
    world.kind.down = False
    queue_later(world, "later")
    world.cycle("own")
    assert world.kind.delivered == [b"older", b"own", b"later"]


def test_a_holder_that_cannot_send_keeps_its_batch_ahead_of_a_later_cycles() -> None:
    world = World()
    queue_later(world, "later")
    world.kind.down = True
    report = world.cycle("earlier")
    assert world.kind.delivered == [] and report.spilled == 1
    assert [load(world.s3.objects[k]).entries[0].body for k in world.waiting()] == [b"earlier", b"later"]
    world.kind.down = False
    world.now = T0 + 60
    world.cycle("next")
    assert world.kind.delivered == [b"earlier", b"later", b"next"]


def test_items_past_their_age_are_discarded_and_counted_as_lost() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1", "b1")
    world.kind.down = False
    world.now = T0 + 2 * 3600
    report = world.cycle("a2", config=BacklogConfig(max_age=3600.0))
    assert report.backlog is not None and dict(report.backlog.lost) == {"max_age": 2}
    assert (report.lost, report.ok, report.sent) == (2, False, 1)
    assert world.kind.delivered == [b"a2"] and world.waiting() == []


def test_the_default_age_is_the_kinds() -> None:
    world = World()
    world.kind.default_max_age = 90.0
    world.kind.down = True
    world.cycle("a1")
    world.now += 60
    report = world.cycle("a2")
    assert report.backlog is not None and dict(report.backlog.lost) == {"max_age": 1}


def test_past_its_size_the_oldest_items_are_discarded_and_counted() -> None:
    world = World()
    world.kind.down = True
    for cycle in range(3):
        world.cycle(f"a{cycle}", f"b{cycle}")
    sizes = [len(world.s3.objects[k]) for k in world.waiting()]
    world.kind.down = False
    report = world.cycle("now", config=BacklogConfig(max_size=sizes[-1]))
    assert report.backlog is not None and dict(report.backlog.lost) == {"max_size": 4}
    assert world.kind.delivered == [b"a2", b"b2", b"now"]


def test_when_s3_fails_too_the_samples_are_lost_and_counted_with_the_reason() -> None:
    world = World()
    world.kind.down = True
    world.s3.down = True
    report = world.cycle("a", "b")
    assert (report.failed, report.spilled, report.lost) == (2, 0, 2)
    assert any(
        "2 samples lost: backlog bucket bucket: put_object failed: ServiceUnavailable" in e
        for e in report.errors
    )


def test_an_unreadable_backlog_queues_the_cycle_behind_whatever_may_wait() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1")
    world.kind.down = False
    world.s3.failing = {"list_objects_v2"}
    report = world.cycle("a2")
    assert world.kind.delivered == [] and (report.spilled, report.failed) == (1, 0)
    assert report.errors == [
        "backlog bucket bucket: list_objects_v2 failed: ServiceUnavailable: ServiceUnavailable; "
        "this cycle queues behind the backlog"
    ]
    world.s3.failing = set()
    world.cycle("a3")
    assert world.kind.delivered == [b"a1", b"a2", b"a3"]


def test_when_s3_is_down_altogether_the_cycle_is_sent_directly_rather_than_lost() -> None:
    world = World()
    world.s3.down = True
    report = world.cycle("a")
    assert world.kind.delivered == [b"a"] and (report.sent, report.lost) == (1, 0)
    assert "the backlog is unavailable: sent directly, possibly ahead of older data" in report.warnings


def test_a_broken_lease_table_queues_the_cycle_behind_the_backlog() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1")
    world.kind.down = False
    world.leases.broken = True
    report = world.cycle("a2")
    assert report.backlog is not None and report.backlog.lease == "unavailable"
    assert world.kind.delivered == [] and report.spilled == 1
    world.leases.broken = False
    world.cycle("a3")
    assert world.kind.delivered == [b"a1", b"a2", b"a3"]


def test_a_replay_that_delivers_nothing_does_not_rewrite_the_item() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1", "b1")
    puts = world.s3.puts
    world.cycle("a2")
    assert world.s3.puts == puts + 1  # only the new cycle's item


def test_an_invocation_queued_behind_the_holder_still_reports_what_waits() -> None:
    world = World()
    world.kind.down = True
    world.cycle("a1")
    world.leases.busy = True
    report = world.cycle("a2")
    assert report.backlog is not None and (report.backlog.objects, report.backlog.samples) == (2, 2)


def test_an_item_that_cannot_be_read_is_discarded_and_counted() -> None:
    world = World()
    world.s3.objects[f"{FOLDER}{int(T0 * 1000) - 1:013d}-0123456789abcdef-7"] = b"garbage"
    world.s3.objects[f"{FOLDER}README"] = b"not ours"
    report = world.cycle("a")
    assert report.backlog is not None and dict(report.backlog.lost) == {"unreadable": 7}
    assert world.kind.delivered == [b"a"]
    assert world.s3.keys(FOLDER) == [f"{FOLDER}README"]
    assert report.warnings == [f"1 object(s) under {FOLDER} are not backlog items; left alone"]


def test_a_long_backlog_is_listed_page_by_page() -> None:
    world = World()
    world.s3.page_size = 2
    world.kind.down = True
    for cycle in range(5):
        world.cycle(f"a{cycle}")
    world.kind.down = False
    report = world.cycle("now")
    assert world.kind.delivered == [b"a0", b"a1", b"a2", b"a3", b"a4", b"now"]
    assert report.backlog is not None and report.backlog.replayed == 5


@pytest.mark.parametrize(("seconds", "send_time"), [(4.0, 3.4), (60.0, 55.0)])
def test_sends_stop_early_enough_to_spill_what_is_pending(seconds: float, send_time: float) -> None:
    """Sends get the invocation's time less the spill reserve: 5 s, or 15 % of a short one."""
    given: list[float] = []

    class Timed(ScriptedSink):
        def deliver(
            self, requests: Sequence[Request], deadline: Deadline, report: SinkReport
        ) -> list[Result]:
            given.append(deadline.remaining())
            return super().deliver(requests, deadline, report)

    kind = Timed()
    sink = DurableDelivery(
        kind, BacklogStore("bucket", "fake-id", lambda _: MemoryS3()), FakeLeases(), BacklogConfig(), 0
    )
    deadline = Deadline.after(seconds, clock=lambda: 1000.0)  # a stopped clock: no time passes
    sink.open(deadline)
    report = sink.push(samples("a"), deadline)
    sink.close()
    assert given == [pytest.approx(send_time)] and report.sent == 1


def test_a_healthy_sink_is_not_held_up_by_another_sinks_outage() -> None:
    """The failing sink's send blocks until the healthy sink has finished its own push: that
    can only complete if the sinks run side by side (a serial run would wait out the timeout)."""
    healthy_done = threading.Event()
    seen_by_stuck: list[bool] = []

    class Stuck(ScriptedSink):
        def deliver(
            self, requests: Sequence[Request], deadline: Deadline, report: SinkReport
        ) -> list[Result]:
            seen_by_stuck.append(healthy_done.wait(timeout=10))
            return [Result("failed", "HTTP 503: down")] + [Result("skipped", "not sent")] * (
                len(requests) - 1
            )

    class Healthy(ScriptedSink):
        def deliver(
            self, requests: Sequence[Request], deadline: Deadline, report: SinkReport
        ) -> list[Result]:
            results = super().deliver(requests, deadline, report)
            healthy_done.set()
            return results

    s3 = MemoryS3()
    sinks = [
        DurableDelivery(
            kind,
            BacklogStore("bucket", kind.name, lambda _: s3),
            FakeLeases(),
            BacklogConfig(),
            int(T0 * 1000),
        )
        for kind in (Stuck(name="stuck/dest"), Healthy(name="healthy/dest"))
    ]
    deadline = Deadline.after(60)
    for sink in sinks:
        sink.open(deadline)
    stuck, healthy = push_all(sinks, samples("a", "b"), deadline)
    for sink in sinks:
        sink.close()
    assert seen_by_stuck == [True]  # the healthy sink finished while the other was stuck
    assert (healthy.sent, healthy.spilled) == (2, 0)
    assert (stuck.sent, stuck.spilled, stuck.failed) == (0, 2, 0)
