"""Remote Write into a real Prometheus through outages: the receiver stopped and restarted, a
receiver that never answers until the invocation's deadline, and two overlapping invocations.
After each, Prometheus holds every scraped sample exactly once, at its scrape time."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from scrape_push.runtime import RUNTIME

from devtools import processes
from tests.integration.durability.conftest import (
    SAMPLES_PER_SCRAPE,
    Cycles,
    Run,
    assert_delivered_once,
    assert_sent_live,
    assert_spilled,
    remote_write_config,
    run_through_outage,
)
from tests.integration.remote_write.conftest import Receiver
from tests.support.faults import FaultProxy, fault_proxy
from tests.support.http import serve
from tests.support.remote_write import capture, decode

pytestmark = pytest.mark.integration


def test_prometheus_stopped_then_restarted_receives_every_cycle_once_in_order(
    cycles: Cycles, prometheus: Receiver
) -> None:
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        cycles.emulated.put_config(remote_write_config(endpoint.address, proxy.url))
        # Prometheus stopped by its PID, then started again on the same port and storage
        run_through_outage(cycles, prometheus.stop, prometheus.start, "Connection refused")

    assert_delivered_once(prometheus, proxy, endpoint.address, cycles.runs)


def test_a_receiver_that_never_answers_gets_the_cycle_spilled_before_the_deadline(
    cycles: Cycles, prometheus: Receiver
) -> None:
    timeout = 8.0
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        cycles.emulated.put_config(remote_write_config(endpoint.address, proxy.url))
        proxy.mode = "silent"  # takes the request, never answers
        stuck = cycles.run(timeout=timeout)
        assert_spilled(stuck)
        assert "ReadTimeout" in stuck.sink["errors"][0], stuck.sink
        assert stuck.backlog["objects"] == 1 and stuck.backlog["samples"] == SAMPLES_PER_SCRAPE
        assert stuck.summary["duration_seconds"] < timeout  # it returned: the summary exists
        assert proxy.exchanges and all(e.reply is None for e in proxy.exchanges)

        proxy.mode = "forward"
        healthy = cycles.run()
        assert healthy.backlog["replayed"] == SAMPLES_PER_SCRAPE, healthy.sink
        assert_sent_live(healthy)

    assert_delivered_once(prometheus, proxy, endpoint.address, cycles.runs)


@dataclass
class Background:
    """One invocation running on a thread of its own: its run once done, or what it raised."""

    thread: threading.Thread
    runs: list[Run]
    errors: list[BaseException]

    def done(self) -> Run:
        self.thread.join(60)
        assert not self.errors and self.runs, self.errors
        return self.runs[0]


def in_background(cycles: Cycles, name: str) -> Background:
    """Start one invocation on its own thread (as an overlapping Lambda would run)."""
    runs: list[Run] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            runs.append(cycles.run())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=invoke, name=name)
    thread.start()
    return Background(thread, runs, errors)


def _samples_arrived(proxy: FaultProxy) -> bool:
    """Whether a request carrying samples reached the proxy (held there while ``hold`` is set)."""
    return any(decode(exchange.body).timeseries for exchange in list(proxy.exchanges))


def test_an_overlapping_invocation_queues_behind_the_lease_holder(
    cycles: Cycles, prometheus: Receiver
) -> None:
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        cycles.emulated.put_config(remote_write_config(endpoint.address, proxy.url))
        proxy.hold = threading.Event()  # the first invocation's sends wait at the receiver
        first = in_background(cycles, "first-invocation")
        try:
            # The first invocation's batch is held (its metadata request goes out beside it, and
            # on a loaded machine it may be the first to arrive, or the last).
            processes.wait_until(lambda: _samples_arrived(proxy) or not first.thread.is_alive())
            assert _samples_arrived(proxy), first.errors
            seen = len(proxy.exchanges)
            second = cycles.run()  # while the first holds the lease and is sending
            # Only the first invocation's metadata request may still arrive: no request after
            # ``seen`` carries samples.
            later = [decode(e.body) for e in proxy.exchanges[seen:]]
            assert not any(request.timeseries for request in later), "the second invocation sent samples"
        finally:
            proxy.hold.set()
        assert_sent_live(first.done())
        assert second.backlog["lease"] == "busy", second.sink
        assert_spilled(second)

        proxy.hold = None
        third = cycles.run()
        assert third.backlog["replayed"] == SAMPLES_PER_SCRAPE, third.sink
        assert_sent_live(third)

    runs = sorted(cycles.runs, key=lambda run: run.scrape)
    assert [run.scrape for run in runs] == [1, 2, 3]
    assert_delivered_once(prometheus, proxy, endpoint.address, runs)


def test_metadata_requests_beside_the_batches_do_not_break_the_accounting(cycles: Cycles) -> None:
    """Needs no Prometheus: the metadata requests (not durable) go out beside the batches, and
    only the batches' results count as the samples' (a strict zip of the batches with all the
    results once raised after sending, and the cycle's samples were reported failed)."""
    with serve(cycles.exposition.respond) as endpoint, capture() as receiver:
        url = receiver.url.removesuffix("/api/v1/write")
        cycles.emulated.put_config(remote_write_config(endpoint.address, url))
        run = cycles.run()
    assert_sent_live(run)
    assert (run.sink["requests"], run.sink["errors"], run.sink["warnings"]) == (2, [], []), run.sink
    assert sorted(bool(c.request.metadata) for c in receiver.requests) == [False, True]


def test_a_holder_that_scraped_first_sends_its_batch_before_the_overlapping_invocations(
    cycles: Cycles, prometheus: Receiver
) -> None:
    """The holder's backlog listing is held until an overlapping invocation, which scraped later
    and found the lease busy, has queued its batch: the holder then finds a *newer* item waiting.
    It sends its own batch first and replays the newer one after it, so Prometheus (which
    refuses older samples) accepts both."""
    listing, release = threading.Event(), threading.Event()

    def hold_the_first_listing(**_: object) -> None:
        if not listing.is_set():
            listing.set()
            release.wait(60)

    RUNTIME.aws.session().events.register("before-call.s3.ListObjectsV2", hold_the_first_listing)
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        cycles.emulated.put_config(remote_write_config(endpoint.address, proxy.url))
        first = in_background(cycles, "holder")
        try:
            processes.wait_until(
                lambda: (listing.is_set() and cycles.exposition.scrapes >= 1) or not first.thread.is_alive()
            )
            assert listing.is_set(), first.errors
            second = cycles.run()  # scrapes later, finds the lease busy, queues its batch
        finally:
            release.set()
        holder = first.done()
        assert second.backlog["lease"] == "busy", second.sink
        assert_spilled(second)
        assert (holder.sink["sent"], holder.backlog["replayed"]) == (SAMPLES_PER_SCRAPE, SAMPLES_PER_SCRAPE)
        assert holder.sink["rejected"] == 0 and holder.backlog["objects"] == 0, holder.sink

    runs = sorted(cycles.runs, key=lambda run: run.scrape)
    assert [run.scrape for run in runs] == [1, 2]
    assert_delivered_once(prometheus, proxy, endpoint.address, runs)
