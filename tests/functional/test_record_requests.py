"""The staleness record costs at most one DynamoDB request a cycle, in every kind of cycle.

Each scenario runs twice against a fresh emulator — with ``runtime.staleness_record`` on, then
off — counting the DynamoDB calls of every invocation (the planner's and each shard's, through
botocore's ``before-call`` event: one per API call, its own retries not counted). The two runs
must make the same invocations, and each invocation at most one request more with the record.
The markers of the run with the record are checked too: after a cold start, a count change and
an adoption, they still arrive once each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from scrape_push.runtime import RUNTIME
from scrape_push.shards.message import decode

from devtools import resources
from devtools.shard_poller import Poller
from tests.functional.conftest import Emulated
from tests.functional.test_shards import ENDED_SERIES, _shard_of, markers
from tests.support.http import Endpoint, Response, serve
from tests.support.remote_write import Capture, capture

pytestmark = pytest.mark.once  # long and interpreter-independent: not run again on 3.13

TARGETS = 6
FULL = b"# TYPE fleet_value gauge\nfleet_value 1\nfleet_other 2\n"
SMALLER = b"# TYPE fleet_value gauge\nfleet_value 1\n"


def config(addresses: list[str], write_url: str, shards: int | None, record: bool) -> str:
    targets = ", ".join(f"'{a}'" for a in addresses)
    runtime = [f"staleness_record: {str(record).lower()}"] + ([f"shards: {shards}"] if shards else [])
    return (
        "global: {scrape_timeout: 5s}\n"
        f"scrape_configs: [{{job_name: fleet, static_configs: [{{targets: [{targets}]}}]}}]\n"
        f"remote_write: [{{url: '{write_url}', name: rw, metadata_config: {{send: false}}}}]\n"
        f"runtime: {{{', '.join(runtime)}}}\n"
    )


@dataclass
class Harness:
    """One run of a scenario: a fresh emulated account, the targets, and the DynamoDB calls of
    each invocation, in order."""

    emulated: Emulated
    monkeypatch: pytest.MonkeyPatch
    targets: list[Endpoint]
    receiver: Capture
    body: list[bytes]
    record: bool
    queued: bool
    calls: int = 0
    invocations: list[tuple[str, int]] = field(default_factory=list)
    poller: Poller | None = None

    def start(self) -> None:
        requests.post(f"{self.emulated.url}/moto-api/reset", timeout=10).raise_for_status()
        self.receiver.requests.clear()
        self.body[0] = FULL
        self.monkeypatch.setenv("STATE_TABLE", resources.create_state_table(self.emulated.client("dynamodb")))
        if self.queued:
            sqs = self.emulated.client("sqs")
            queues = resources.create_shard_queues(sqs)
            self.monkeypatch.setenv("SHARD_QUEUE_URL", queues.url)
            self.poller = Poller(sqs, queues.url, queues.arn, self._counted("shard"))
        else:
            self.monkeypatch.delenv("SHARD_QUEUE_URL", raising=False)
        self.cold()

    def cold(self) -> None:
        """A new execution environment: nothing warm survives."""
        RUNTIME.reset()
        RUNTIME.aws.session().events.register("before-call.dynamodb", self._count, unique_id="count-ddb")

    def _count(self, **_: Any) -> None:
        self.calls += 1

    def _counted(self, what: str) -> Callable[[dict[str, Any]], object]:
        def invoke(event: dict[str, Any]) -> object:
            before = self.calls
            answer = self.emulated.invoke(event)
            shard = f" {decode(event['Records'][0]['body']).shard}" if "Records" in event else ""
            self.invocations.append((what + shard, self.calls - before))
            return answer

        return invoke

    def plan(self, shards: int | None, without: frozenset[str] = frozenset()) -> None:
        """Invoke the schedule's invocation (the planner, or the whole cycle without a queue)."""
        addresses = [t.address for t in self.targets if t.address not in without]
        self.emulated.put_config(config(addresses, self.receiver.url, shards, self.record))
        self._counted("planner")({})

    def drain(self) -> None:
        assert self.poller is not None
        for polled in self.poller.drain():
            assert polled.answer == {"batchItemFailures": []}

    def deliver_warm(self) -> None:
        """Deliver the queued messages of two cycles shard by shard, so that each shard's second
        cycle runs warm, on a smaller exposition (a series gone: its record is due)."""
        assert self.poller is not None
        batches = [batch for _ in range(4) if (batch := self.poller.receive())]
        batches.sort(key=lambda batch: (decode(batch[0]["Body"]).shard, decode(batch[0]["Body"]).cycle_ms))
        for index, batch in enumerate(batches):
            self.body[0] = SMALLER if index % 2 else FULL
            assert self.poller.deliver(batch).answer == {"batchItemFailures": []}
        self.body[0] = FULL


def single(run: Harness, gone: str, _count: int) -> None:
    """No queue: every cycle in one invocation."""
    run.plan(None)  # cold: reads the record
    run.plan(None)  # warm: writes it (the cold cycle left its write to this one)
    run.body[0] = SMALLER
    run.plan(None)  # warm, a series gone: written again
    run.cold()
    run.plan(None)  # cold, nothing changed: read only
    run.cold()
    run.plan(None, without=frozenset({gone}))  # cold, a target removed meanwhile: read, ended
    run.plan(None, without=frozenset({gone}))  # warm: written


def planner(run: Harness, gone: str, count: int) -> None:
    """A queue: the planner runs the cycle itself at one shard, hands it to ``count``, takes it
    back and adopts the removed shard's record."""
    run.plan(1)  # cold
    run.plan(1)  # warm: the cold cycle's write joins the series counts
    run.plan(count)  # grows out of one invocation: shard 0 reads the unsplit record
    run.drain()
    run.plan(1, without=frozenset({gone}))  # back in one invocation: adopts gone's shard
    run.plan(1, without=frozenset({gone}))
    run.cold()
    run.plan(1, without=frozenset({gone}))  # a cold planner


def shards(run: Harness, gone: str, count: int) -> None:
    """Shard workers: cold, warm (a series gone), the count changed, a removed shard adopted."""
    run.plan(2)
    run.drain()  # cold workers
    run.plan(2)
    run.plan(2)
    run.deliver_warm()  # each shard's second cycle warm
    run.plan(count)
    run.drain()  # the count changed: targets moved
    run.plan(2, without=frozenset({gone}))
    run.drain()  # gone's shard removed with it: another shard adopts it


SCENARIOS = {"single": (single, False), "planner": (planner, True), "shards": (shards, True)}


@pytest.fixture
def fleet() -> Iterator[tuple[list[Endpoint], Capture, list[bytes]]]:
    body = [FULL]
    with ExitStack() as stack:
        targets = [stack.enter_context(serve(lambda _path: Response(body[0]))) for _ in range(TARGETS)]
        yield targets, stack.enter_context(capture()), body


@pytest.mark.parametrize("kind", sorted(SCENARIOS))
def test_the_record_costs_at_most_one_request_in_every_cycle(
    kind: str,
    emulated: Emulated,
    monkeypatch: pytest.MonkeyPatch,
    fleet: tuple[list[Endpoint], Capture, list[bytes]],
) -> None:
    scenario, queued = SCENARIOS[kind]
    targets, receiver, body = fleet
    # the removed target is on the last shard of the largest count, so that shard goes away
    # (the targets' ports are random: the count is the first from 3 that has one there)
    count, gone = next(
        (count, t.address)
        for count in range(3, 64)
        for t in targets
        if _shard_of(t.address, count) == count - 1
    )
    runs = {}
    for record in (True, False):
        run = runs[record] = Harness(emulated, monkeypatch, targets, receiver, body, record, queued)
        run.start()
        scenario(run, gone, count)
        if record:
            got = markers(receiver)
    on, off = runs[True].invocations, runs[False].invocations
    assert [what for what, _ in on] == [what for what, _ in off]
    extra = [(what, with_record - without) for (what, with_record), (_, without) in zip(on, off, strict=True)]
    assert all(0 <= more <= 1 for _, more in extra), extra
    assert any(more == 1 for _, more in extra)  # the record is read: it is not off in both
    # the markers of the run with the record: the removed target's, once, from a cold start or a
    # removed shard's record; and, after the series that went, one for it per target
    expected = Counter({(gone, name): 1 for name in ENDED_SERIES})
    went = (
        [t.address for t in targets]
        if kind == "shards"
        else [t.address for t in targets if t.address != gone]
    )
    if kind != "planner":
        expected.update({(address, "fleet_other"): 1 for address in went})
    assert got == expected
