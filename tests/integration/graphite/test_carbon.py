"""The handler pushes to a real carbon-cache in every protocol and naming mode; whisper files are
read back: one series per sample, the right value, the scrape time in whole seconds."""

from __future__ import annotations

import time

import pytest

from tests.functional.conftest import Emulated
from tests.integration.graphite.conftest import Carbon
from tests.support.http import Response, serve

pytestmark = pytest.mark.integration

EVIL = "evil\nhacked.metric 666 0;x=y ~"
EXPOSITION = b"""# TYPE temperature_celsius gauge
temperature_celsius{room="lab"} 21.5
temperature_celsius{room="evil\\nhacked.metric 666 0;x=y ~"} 99
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.5"} 3
latency_seconds_bucket{le="+Inf"} 4
latency_seconds_sum 1.25
latency_seconds_count 4
# TYPE ratio gauge
ratio NaN
"""

# (metric, extra labels, value; None where the value is the scrape's own measurement)
SERIES: list[tuple[str, dict[str, str], float | None]] = [
    ("temperature_celsius", {"room": "lab"}, 21.5),
    ("temperature_celsius", {"room": EVIL}, 99.0),
    ("latency_seconds_bucket", {"le": "0.5"}, 3.0),
    ("latency_seconds_bucket", {"le": "+Inf"}, 4.0),
    ("latency_seconds_sum", {}, 1.25),
    ("latency_seconds_count", {}, 4.0),
    ("up", {}, 1.0),
    ("scrape_duration_seconds", {}, None),
    ("scrape_samples_scraped", {}, None),
    ("scrape_samples_post_metric_relabeling", {}, None),
    ("scrape_series_added", {}, None),
]
AS_PATH = {"lab": "lab", EVIL: "evil_hacked_metric_666_0_x_y__", "0.5": "0_5", "+Inf": "inf"}
AS_TAG = {"lab": "lab", EVIL: "evil_hacked.metric_666_0_x=y_~", "0.5": "0.5", "+Inf": "+Inf"}
JOB = "graphite_it"


def path_name(prefix: str, metric: str, instance: str, labels: dict[str, str]) -> str:
    name = f"{prefix}.{JOB}.{metric}.instance.{instance.replace('.', '_')}"
    return name + "".join(f".{k}.{AS_PATH[v]}" for k, v in sorted(labels.items()))


def tagged_name(prefix: str, metric: str, instance: str, labels: dict[str, str]) -> str:
    tags = {"instance": instance, "job": JOB} | {k: AS_TAG[v] for k, v in labels.items()}
    return f"{prefix}.{metric}" + "".join(f";{k}={v}" for k, v in sorted(tags.items()))


@pytest.mark.parametrize("protocol", ["plaintext", "pickle", "udp"])
def test_carbon_stores_every_series_once_with_value_and_time(
    emulated: Emulated, carbon: Carbon, protocol: str
) -> None:
    before_files = carbon.files()
    with serve(Response(EXPOSITION)) as endpoint:
        emulated.put_config(
            "scrape_configs:\n"
            f"  - job_name: {JOB}\n"
            f"    static_configs: [{{targets: ['{endpoint.address}']}}]\n"
            "graphite:\n"
            f"  - name: {protocol}-path\n"
            f"    address: '{carbon.address(protocol)}'\n"
            f"    protocol: {protocol}\n"
            f"    prefix: it.{protocol}.path\n"
            "    template: '{job}.{__name__}'\n"
            f"  - name: {protocol}-tags\n"
            f"    address: '{carbon.address(protocol)}'\n"
            f"    protocol: {protocol}\n"
            "    mode: tags\n"
            f"    prefix: it.{protocol}.tags\n"
        )
        before = int(time.time())
        summary = emulated.invoke()
        after = int(time.time())

    for sink in summary["sinks"]:
        assert (sink["ok"], sink["errors"], sink["dropped"]) == (True, [], {"nan_or_inf": 1}), sink
        assert sink["sent"] == len(SERIES)
    instance = endpoint.address
    expected: dict[str, float | None] = {}
    for metric, labels, value in SERIES:
        expected[path_name(f"it.{protocol}.path", metric, instance, labels)] = value
        expected[tagged_name(f"it.{protocol}.tags", metric, instance, labels)] = value
    assert len(expected) == 2 * len(SERIES)

    stored = carbon.points(list(expected))
    assert sorted(set(expected) - set(stored)) == []
    stamps = set()
    for name, value in expected.items():
        ((stamp, got),) = stored[name]  # exactly one point
        stamps.add(stamp)
        if value is not None:
            assert got == value, name
    (stamp,) = stamps  # every series carries the one scrape time
    assert before <= stamp <= after

    # Nothing else was written: the hostile label added no series, path component or tag.
    new_files = carbon.files() - before_files
    assert new_files == {carbon.whisper_file(name) for name in expected}
