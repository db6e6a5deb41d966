"""A real carbon-cache stopped for several cycles, then started again on the same storage: the
whisper files end up with every cycle's value at its own timestamp."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.durability.conftest import CODES, Cycles, Exposition, run_through_outage, value
from tests.integration.graphite.conftest import Carbon, carbon_server
from tests.support.http import serve
from tests.support.integration import started

pytestmark = pytest.mark.integration

STEP_SECONDS = 10
"""Each scrape's samples carry their own timestamp, this far apart (whisper keeps one point per
series and second here), so every cycle has a slot of its own without waiting between cycles."""


@pytest.fixture
def carbon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carbon]:
    with started(carbon_server(tmp_path_factory.mktemp("carbon"))) as server:
        yield server


def test_carbon_stopped_then_restarted_stores_every_cycle(cycles: Cycles, carbon: Carbon) -> None:
    base = int(time.time()) - 300  # within the storage schema's hour, all in the past
    cycles.exposition = Exposition(timestamp=lambda n: (base + n * STEP_SECONDS) * 1000)
    with serve(cycles.exposition.respond) as endpoint:
        instance = endpoint.address.replace(".", "_")
        series = {f"durable.durable.durable_scrape.instance.{instance}": {"__name__": "durable_scrape"}}
        for code in CODES:
            name = f"durable.durable.durable_requests_total.code.{code}.instance.{instance}"
            series[name] = {"__name__": "durable_requests_total", "code": code}
        cycles.emulated.put_config(
            "scrape_configs:\n"
            f"  - job_name: durable\n    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
            "graphite:\n"
            f"  - name: carbon\n    address: '{carbon.address('plaintext')}'\n    protocol: plaintext\n"
            "    prefix: durable\n    template: '{job}.{__name__}'\n"
        )

        def stop() -> None:
            assert len(carbon.points(list(series), since=base)) == len(series)  # on disk first
            carbon.stop()

        run_through_outage(cycles, stop, carbon.start, "cannot connect")  # same ports and storage

    scrapes = [run.scrape for run in cycles.runs]
    assert scrapes == [1, 2, 3, 4, 5]
    stored = carbon.points(list(series), count=len(scrapes), since=base)
    for name, labels in series.items():
        expected = [(base + n * STEP_SECONDS, value(labels, n)) for n in scrapes]
        assert stored.get(name) == expected, name
