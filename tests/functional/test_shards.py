"""Sharded cycles end to end: the real planner, the emulator's SQS queue, the event Lambda's
event source mapping sends (``devtools.shard_poller``), the real worker invocations, and a Remote
Write receiver that records what arrives, in order."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from scrape_push.model import is_stale
from scrape_push.pipeline import Pipeline
from scrape_push.shards.assign import identity_key, jump
from scrape_push.shards.message import ShardMessage, decode, encode

from devtools import resources
from devtools.shard_poller import Polled, Poller
from tests.functional.conftest import Emulated
from tests.support.emf import emf_lines
from tests.support.http import Endpoint, Response, serve
from tests.support.remote_write import Capture, capture, series_of

pytestmark = pytest.mark.once  # long and interpreter-independent: not run again on 3.13

TARGETS = 12
EXPOSITION = b"# TYPE fleet_value gauge\nfleet_value 1\nfleet_other 2\n"
Labels = tuple[tuple[str, str], ...]


def config(addresses: list[str], write_url: str, shards: int) -> str:
    targets = ", ".join(f"'{a}'" for a in addresses)
    return (
        "global: {scrape_timeout: 5s}\n"
        f"scrape_configs: [{{job_name: fleet, static_configs: [{{targets: [{targets}]}}]}}]\n"
        f"remote_write: [{{url: '{write_url}', name: rw, metadata_config: {{send: false}}}}]\n"
        f"runtime: {{shards: {shards}}}\n"
    )


@dataclass
class Cycle:
    """One cycle: the planner's summary and each shard invocation the poller made."""

    planned: dict[str, Any]
    polled: list[Polled]
    workers: list[dict[str, Any]] = field(default_factory=list)
    """The summary each shard invocation logged (``cycle done``), without its targets."""

    def messages(self) -> list[ShardMessage]:
        return [decode(record["body"]) for p in self.polled for record in p.event["Records"]]

    def assignment(self) -> dict[str, int]:
        """Target URL -> the shard it was sent to."""
        return {t.url: m.shard for m in self.messages() for t in m.targets}


@dataclass
class Fleet:
    """Targets, a receiver, the queue and a poller; ``cycle`` runs one planned cycle."""

    emulated: Emulated
    targets: list[Endpoint]
    receiver: Capture
    poller: Poller
    queues: resources.ShardQueues
    logs: pytest.LogCaptureFixture
    cycles: list[Cycle] = field(default_factory=list)

    def cycle(
        self,
        shards: int,
        timeout: float = 30.0,
        last_shard_first: bool = False,
        without: frozenset[str] = frozenset(),
    ) -> Cycle:
        """Plan a cycle of ``shards`` and run every shard; with ``last_shard_first``, the shards
        run in reverse (Lambda promises no order), so a moved target's new shard runs first.
        The targets at the addresses ``without`` are left out of the configuration."""
        addresses = [t.address for t in self.targets if t.address not in without]
        self.emulated.put_config(config(addresses, self.receiver.url, shards))
        planned = self.emulated.invoke({}, timeout)
        seen = len(self.logs.records)
        if last_shard_first:
            batches = [batch for _ in range(shards) if (batch := self.poller.receive())]
            batches.sort(key=lambda batch: -decode(batch[0]["Body"]).shard)
            polled = [self.poller.deliver(batch) for batch in batches]
        made = Cycle(planned, (polled if last_shard_first else []) + self.poller.drain())
        made.workers = [
            r.summary  # type: ignore[attr-defined]
            for r in self.logs.records[seen:]
            if r.getMessage() == "cycle done" and "shard" in getattr(r, "summary", {})
        ]
        self.cycles.append(made)
        return made

    def markers(self) -> Counter[tuple[str, str]]:
        return markers(self.receiver)

    def arrivals(self) -> dict[Labels, list[int]]:
        """Per series, the timestamps the receiver got, in the order it got them."""
        got: dict[Labels, list[int]] = {}
        for request in self.receiver.requests:
            for labels, samples in series_of(request.request).items():
                got.setdefault(labels, []).extend(ts for ts, _ in samples)
        return got


def markers(receiver: Capture) -> Counter[tuple[str, str]]:
    """Staleness markers ``receiver`` got, per (instance, series name)."""
    got: Counter[tuple[str, str]] = Counter()
    for request in receiver.requests:
        for labels, samples in series_of(request.request).items():
            named = dict(labels)
            got[named["instance"], named["__name__"]] += sum(1 for _, value in samples if is_stale(value))
    return +got


@pytest.fixture
def fleet(
    emulated: Emulated, backlog: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Fleet]:
    caplog.set_level(logging.INFO)
    queues = resources.create_shard_queues(emulated.client("sqs"))
    monkeypatch.setenv("SHARD_QUEUE_URL", queues.url)
    with ExitStack() as stack:
        targets = [stack.enter_context(serve(Response(EXPOSITION))) for _ in range(TARGETS)]
        receiver = stack.enter_context(capture())
        poller = Poller(emulated.client("sqs"), queues.url, queues.arn, emulated.invoke)
        yield Fleet(emulated, targets, receiver, poller, queues, caplog)


def per_cycle(fleet: Fleet) -> Counter[int]:
    """How many samples of ``up`` each target's series got, per cycle's scrape time bucket."""
    return Counter(len(ts) for labels, ts in fleet.arrivals().items() if ("__name__", "up") in labels)


def test_a_planned_cycle_reaches_every_target_once_through_the_queue(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    cycle = fleet.cycle(shards=3)
    shards = cycle.planned["shards"]
    assert (shards["planned"], shards["sent"], shards["mode"], sum(shards["targets"])) == (3, 3, "fixed", 12)
    assert cycle.planned["targets_planned"] == TARGETS and cycle.planned["ok"]
    assert sorted(m.shard for m in cycle.messages()) == [0, 1, 2]
    assert all(p.answer == {"batchItemFailures": []} for p in cycle.polled)
    # Every target once, at the cycle's time, with all its series; nothing else.
    arrivals = fleet.arrivals()
    ups = {dict(labels)["instance"]: ts for labels, ts in arrivals.items() if ("__name__", "up") in labels}
    assert sorted(ups) == sorted(t.address for t in fleet.targets)
    cycle_ms = cycle.messages()[0].cycle_ms
    assert all(len(ts) == 1 and ts[0] >= cycle_ms for ts in ups.values())
    assert len(arrivals) == TARGETS * (2 + 5)  # two exposed, five synthetic series per target
    # Each worker reported its shard; the planner its shards planned and sent.
    reported = [summary["shard"] for summary in cycle.workers]
    assert sorted((r["shard"], r["shards"], r["status"], r["attempt"]) for r in reported) == [
        (0, 3, "done", 1),
        (1, 3, "done", 1),
        (2, 3, "done", 1),
    ]
    docs = emf_lines(capsys.readouterr().out)
    planned = next(d for d in docs if "ShardsPlanned" in d)
    assert (planned["ShardsPlanned"], planned["ShardsSent"], planned["ShardsFailed"]) == ([3.0], [3.0], [0.0])
    assert sum(d["TargetsUp"][0] for d in docs if "TargetsUp" in d) == TARGETS
    assert [d["ShardsLate"] for d in docs if "ShardsLate" in d] == [[0.0]] * 3


def test_targets_stay_on_their_shard_and_a_new_shard_takes_only_what_it_must(fleet: Fleet) -> None:
    first, second = fleet.cycle(shards=3).assignment(), fleet.cycle(shards=3).assignment()
    assert first == second and len(first) == TARGETS
    grown = fleet.cycle(shards=6).assignment()  # half the targets move: none does once in 4,096
    moved = {url for url in first if grown[url] != first[url]}
    assert moved and {grown[url] for url in moved} <= {3, 4, 5}  # only onto the new shards
    for message in fleet.cycles[-1].messages():  # the jump hash of job and final labels decides
        assert all(jump(identity_key(t.job, t.labels), 6) == message.shard for t in message.targets)
    assert per_cycle(fleet) == Counter({3: TARGETS})


def _late_message(fleet: Fleet) -> str:
    """A shard message whose cycle's deadline passed (as a backed-up queue delivers one)."""
    fleet.emulated.put_config(config([fleet.targets[0].address], fleet.receiver.url, 2))
    fresh = fleet.cycle(shards=2).messages()[0]
    stale = ShardMessage(
        fresh.cycle_ms - 120_000, fresh.cycle_ms - 60_000, fresh.digest, None, 1, 2, fresh.targets
    )
    return encode(stale)


def test_a_message_late_for_its_cycle_is_dropped_and_counted(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _late_message(fleet)
    before = len(fleet.receiver.requests)
    sqs = fleet.emulated.client("sqs")
    sqs.send_message(QueueUrl=fleet.queues.url, MessageBody=body)
    capsys.readouterr()
    (polled,) = fleet.poller.drain()
    assert polled.answer == {"batchItemFailures": []} and not polled.kept  # deleted: not retried
    assert len(fleet.receiver.requests) == before  # nothing scraped into the next cycle
    late = next(d for d in emf_lines(capsys.readouterr().out) if "ShardsLate" in d)
    assert (late["ShardsLate"], late["ShardsFailed"]) == ([1.0], [0.0])
    assert any(r.getMessage() == "shard message late for its cycle: dropped" for r in fleet.logs.records)
    assert fleet.poller.in_queue() == 0


def test_a_late_retry_goes_to_the_dead_letter_queue(fleet: Fleet) -> None:
    body = _late_message(fleet)
    sqs = fleet.emulated.client("sqs")
    sqs.send_message(QueueUrl=fleet.queues.url, MessageBody=body)
    first = sqs.receive_message(QueueUrl=fleet.queues.url)["Messages"][0]  # a try that died
    sqs.change_message_visibility(
        QueueUrl=fleet.queues.url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    (polled,) = fleet.poller.drain()
    assert polled.kept == {first["MessageId"]}
    dead = sqs.receive_message(QueueUrl=fleet.queues.dead_letter_url).get("Messages", [])
    assert [m["Body"] for m in dead] == [body]


def test_a_failed_shard_is_retried_at_once_within_its_cycle(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Pipeline.run
    failures = [1]

    def flaky(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        if self.shard == 1 and failures:
            failures.pop()
            raise RuntimeError("injected fault")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "run", flaky)
    cycle = fleet.cycle(shards=3)
    assert len(cycle.polled) == 4  # the retry came at once, not after the 90-minute visibility timeout
    failed = [p for p in cycle.polled if p.kept]
    assert len(failed) == 1 and decode(failed[0].event["Records"][0]["body"]).shard == 1
    attempts = sorted(
        (w["shard"]["shard"], w["shard"]["attempt"], w["shard"]["status"]) for w in cycle.workers
    )
    assert attempts == [(0, 1, "done"), (1, 2, "done"), (2, 1, "done")]
    assert per_cycle(fleet) == Counter({1: TARGETS})  # every target once, the retried ones too
    assert fleet.poller.in_queue() == 0


def test_a_shard_failing_twice_goes_to_the_dead_letter_queue(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = Pipeline.run

    def broken(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        if self.shard == 2:
            raise RuntimeError("injected fault")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "run", broken)
    capsys.readouterr()
    cycle = fleet.cycle(shards=3)
    assert len(cycle.polled) == 4
    failed = [d["ShardsFailed"][0] for d in emf_lines(capsys.readouterr().out) if "ShardsLate" in d]
    assert sorted(failed) == [0.0, 0.0, 1.0, 1.0]
    dead = fleet.emulated.client("sqs").receive_message(QueueUrl=fleet.queues.dead_letter_url)["Messages"]
    assert [decode(m["Body"]).shard for m in dead] == [2]


def _assert_every_cycle_once_in_order(fleet: Fleet, cycles: int) -> None:
    arrivals = fleet.arrivals()
    assert len(arrivals) == TARGETS * 7
    for labels, timestamps in arrivals.items():
        assert len(timestamps) == cycles, labels  # nothing lost, nothing twice
        assert timestamps == sorted(timestamps), labels  # in scrape order, per series


@pytest.mark.parametrize(("before", "after"), [(4, 2), (2, 4)])
def test_a_shard_count_change_with_a_backlog_waiting_loses_nothing_and_sends_nothing_twice(
    fleet: Fleet, before: int, after: int
) -> None:
    fleet.receiver.down = True
    down = [fleet.cycle(shards=before), fleet.cycle(shards=after)]
    assert all(s["spilled"] == s["offered"] for s in _sinks(down))  # every batch kept
    fleet.receiver.down = False
    recovery = [fleet.cycle(shards=after, last_shard_first=True) for _ in range(2)]
    _assert_every_cycle_once_in_order(fleet, cycles=4)
    reports = _sinks(down + recovery)
    assert sum(r["backlog"]["lost"].get("max_age", 0) for r in reports) == 0
    assert sum(r["rejected"] + r["failed"] for r in reports) == 0
    assert not fleet.emulated.client("s3").list_objects_v2(Bucket="scrape-push-backlog").get("Contents")


def _sinks(cycles: list[Cycle]) -> list[dict[str, Any]]:
    """The sink report of every shard invocation of ``cycles``."""
    return [report for cycle in cycles for summary in cycle.workers for report in summary["sinks"]]


def test_a_configuration_changed_after_planning_scrapes_the_planned_targets_with_the_new_one(
    fleet: Fleet,
) -> None:
    addresses = [t.address for t in fleet.targets]
    fleet.emulated.put_config(config(addresses, fleet.receiver.url, 2))
    planned = fleet.emulated.invoke({}, 30.0)
    assert planned["shards"]["sent"] == 2
    seen = len(fleet.logs.records)
    relabeled = "global: {scrape_timeout: 5s, external_labels: {era: new}}\n"
    fleet.emulated.put_config(
        config(addresses, fleet.receiver.url, 2).replace("global: {scrape_timeout: 5s}\n", relabeled)
    )
    polled = fleet.poller.drain()
    assert all(p.answer == {"batchItemFailures": []} for p in polled)  # not a failure: no retry
    said = [r.getMessage() for r in fleet.logs.records[seen:]]
    assert sum(m.startswith("the configuration changed after this cycle was planned") for m in said) == 2
    ups = [dict(labels) for labels in fleet.arrivals() if ("__name__", "up") in labels]
    assert sorted(u["instance"] for u in ups) == sorted(addresses)  # the planned targets, once each
    assert {u.get("era") for u in ups} == {"new"}  # with the settings read now


ENDED_SERIES = {
    "fleet_value",
    "fleet_other",
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
}
"""What a target that left the fleet gets a marker for: its series, its ``up`` and ``scrape_*``."""


def _ended_once(fleet: Fleet, address: str) -> None:
    """``address``'s series, and nothing else, each got one marker."""
    assert fleet.markers() == Counter({(address, name): 1 for name in ENDED_SERIES})


def _shard_of(address: str, shards: int) -> int:
    labels = (("instance", address), ("job", "fleet"))
    return jump(identity_key("fleet", labels), shards)


def test_a_target_removed_from_a_sharded_fleet_ends_its_series_once(fleet: Fleet) -> None:
    fleet.cycle(shards=3)
    fleet.cycle(shards=3)
    assert not fleet.markers()
    gone = fleet.targets[0].address
    removed = fleet.cycle(shards=3, without=frozenset({gone}))
    _ended_once(fleet, gone)
    (worker,) = [w for w in removed.workers if w["targets_ended"]]
    assert worker["shard"]["shard"] == _shard_of(gone, 3)
    assert [e["instance"] for e in worker["targets_ended"]] == [gone]
    fleet.cycle(shards=3, without=frozenset({gone}))
    fleet.cycle(shards=3, without=frozenset({gone}))
    _ended_once(fleet, gone)  # once: not again in the cycles after


@pytest.mark.parametrize(
    ("before", "after", "new_first"), [(2, 4, False), (2, 4, True), (4, 2, False), (1, 2, True)]
)
def test_a_target_moved_to_another_shard_ends_nothing(
    fleet: Fleet, before: int, after: int, new_first: bool
) -> None:
    first = fleet.cycle(shards=before).assignment()  # empty for one shard: the planner's own cycle
    second = fleet.cycle(shards=after, last_shard_first=new_first).assignment()
    first = first or dict.fromkeys(second, 0)
    assert any(first[url] != second[url] for url in first)  # half move: all 12 stay once in 4,096
    fleet.cycle(shards=after)
    assert not fleet.markers()  # no series still scraped went stale
    assert per_cycle(fleet) == Counter({3: TARGETS})


@pytest.mark.parametrize(("before", "after"), [(2, 4), (1, 3), (4, 2), (3, 1)])
def test_a_target_removed_in_the_cycle_the_count_changes_ends_its_series_once(
    fleet: Fleet, before: int, after: int
) -> None:
    fleet.cycle(shards=before)
    fleet.cycle(shards=before)  # a second cycle: the targets removed next were scraped twice
    # the target removed maps elsewhere under the new count: the jump hash alone would call it
    # moved; when the count goes down, its shard is one that goes away (its record is adopted)
    gone = next(
        t.address
        for t in fleet.targets
        if _shard_of(t.address, before) != _shard_of(t.address, after)
        and (after > before or _shard_of(t.address, before) >= after)
    )
    fleet.cycle(shards=after, without=frozenset({gone}))
    _ended_once(fleet, gone)
    fleet.cycle(shards=after, without=frozenset({gone}))
    _ended_once(fleet, gone)
    ups = {
        dict(labels)["instance"]: ts
        for labels, ts in fleet.arrivals().items()
        if ("__name__", "up") in labels
    }
    assert len(ups) == TARGETS and len(ups.pop(gone)) == 2 + 1  # two cycles, then its marker
    assert all(len(ts) == 4 for ts in ups.values())  # the others: every cycle, moved or not
