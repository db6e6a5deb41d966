"""The backlog's bounds: what is past ``max_size`` or ``max_age`` when a cycle opens is discarded
oldest first and counted as lost, by reason, sample for sample; everything else still reaches
the real Prometheus exactly once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scrape_push.backlog.durable import DurableDelivery
from scrape_push.backlog.store import BacklogStore, sink_id
from scrape_push.deadline import Deadline
from scrape_push.runtime import RUNTIME
from scrape_push.sinks import job_group

from tests.integration.durability.conftest import (
    BUCKET,
    SAMPLES_PER_SCRAPE,
    Cycles,
    assert_delivered_once,
    assert_sent_live,
    assert_spilled,
    remote_write_config,
)
from tests.integration.remote_write.conftest import Receiver
from tests.support.faults import fault_proxy
from tests.support.http import serve

pytestmark = pytest.mark.integration

SINK = "remote_write/receiver"


def durable_clock(monkeypatch: pytest.MonkeyPatch, clock: Callable[[], float]) -> None:
    """Durable sinks built from now on read ``clock`` (the wall clock their bounds are checked by)."""
    original = DurableDelivery.__init__

    def init(self: DurableDelivery, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        self.clock = clock

    monkeypatch.setattr(DurableDelivery, "__init__", init)


def test_past_max_size_the_oldest_cycle_is_discarded_and_counted(
    cycles: Cycles, prometheus: Receiver
) -> None:
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        cycles.emulated.put_config(remote_write_config(endpoint.address, proxy.url))
        assert_sent_live(cycles.run())
        proxy.mode = "unavailable"
        first, second = cycles.run(), cycles.run()
        assert_spilled(first)
        assert_spilled(second)
        # Room for two items but not three (the first holds the error that made it, so it is
        # the largest): the next cycle keeps both, the one after drops the oldest.
        first_bytes = first.backlog["bytes"]
        second_bytes = second.backlog["bytes"] - first_bytes
        max_size = first_bytes + second_bytes + second_bytes // 2
        config = remote_write_config(endpoint.address, proxy.url, backlog=f"{{max_size: {max_size}}}")
        cycles.emulated.put_config(config)
        third = cycles.run()
        assert_spilled(third)
        assert third.backlog["objects"] == 3, third.backlog

        proxy.mode = "forward"
        recovery = cycles.run()
        assert recovery.backlog["lost"] == {"max_size": first.sink["spilled"]}, recovery.backlog
        assert recovery.backlog["replayed"] == second.sink["spilled"] + third.sink["spilled"]
        assert_sent_live(recovery)

    delivered = [run for run in cycles.runs if run is not first]
    assert_delivered_once(prometheus, proxy, endpoint.address, delivered)


def test_past_max_age_an_item_is_discarded_and_counted(
    cycles: Cycles, prometheus: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    max_age_ms = 600_000
    with serve(cycles.exposition.respond) as endpoint, fault_proxy(prometheus.url) as proxy:
        config = remote_write_config(endpoint.address, proxy.url, backlog="{max_age: 10m}")
        cycles.emulated.put_config(config)
        assert_sent_live(cycles.run())
        proxy.mode = "unavailable"
        old, recent = cycles.run(), cycles.run()
        assert_spilled(old)
        assert_spilled(recent)
        listed, _ = BacklogStore(BUCKET, sink_id(SINK, job_group(None)), RUNTIME.aws.bounded("s3")).list(
            Deadline.after(30)
        )
        assert [item.samples for item in listed] == [SAMPLES_PER_SCRAPE] * 2

        # The next cycle runs when the newer item is exactly max_age old: the older is past it.
        now_ms = listed[1].scraped_ms + max_age_ms
        assert now_ms - listed[0].scraped_ms > max_age_ms
        durable_clock(monkeypatch, lambda: now_ms / 1000)
        proxy.mode = "forward"
        recovery = cycles.run()
        assert recovery.backlog["lost"] == {"max_age": old.sink["spilled"]}, recovery.backlog
        assert recovery.backlog["replayed"] == recent.sink["spilled"]
        assert_sent_live(recovery)

    delivered = [run for run in cycles.runs if run is not old]
    assert_delivered_once(prometheus, proxy, endpoint.address, delivered)
