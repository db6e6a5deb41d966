"""Histograms as CloudWatch distributions over several cycles of the real handler, and EMF mode
end to end: documents on stdout checked against the EMF rules, no PutMetricData at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.functional.conftest import Emulated
from tests.support.cloudwatch import metric_data
from tests.support.emf import emf_lines, violations
from tests.support.http import OPENMETRICS_FORMAT, Response, serve

NAMESPACE = "HistogramTest"
EXPOSITION = """\
# TYPE rpc_duration_seconds histogram
# UNIT rpc_duration_seconds seconds
rpc_duration_seconds_bucket{{le="0.1"}} {b[0]}
rpc_duration_seconds_bucket{{le="1.0"}} {b[1]}
rpc_duration_seconds_bucket{{le="+Inf"}} {b[2]}
rpc_duration_seconds_sum {total}
rpc_duration_seconds_count {b[2]}
# TYPE rpc_requests counter
rpc_requests_total{{code="200"}} {requests}
# EOF
"""
# cumulative buckets per cycle; the third cycle follows a restart (every count went down)
CYCLES = [((1, 2, 2), 0.6, 7), ((4, 7, 8), 5.1, 11), ((1, 1, 2), 1.3, 12)]


@dataclass
class Target:
    address: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def target() -> Iterator[Target]:
    state = Target()

    def respond(_path: str) -> Response:
        return Response(EXPOSITION.format(**state.values).encode(), OPENMETRICS_FORMAT)

    with serve(respond) as endpoint:
        state.address = endpoint.address
        yield state


def config(address: str, extra: str = "") -> str:
    return (
        "scrape_configs:\n"
        f"  - job_name: rpc\n    static_configs:\n      - targets: ['{address}']\n"
        f"cloudwatch:\n  - namespace: {NAMESPACE}\n    histograms: distribution\n"
        f"    histogram_sum_count: true\n    dimensions: [job]\n{extra}"
    )


def cycle(emulated: Emulated, target: Target, buckets: tuple[int, ...], total: float, requests: int) -> Any:
    target.values = {"b": buckets, "total": total, "requests": requests}
    return emulated.invoke()


def statistic(emulated: Emulated, name: str, stat: str) -> list[float]:
    return [v for _, v in metric_data(emulated.client("cloudwatch"), NAMESPACE, name, stat, job="rpc")]


def test_buckets_become_one_distribution_per_interval(
    emulated: Emulated, target: Target, state_table: str
) -> None:
    emulated.put_config(config(target.address))
    reports = [cycle(emulated, target, *c)["sinks"][0] for c in CYCLES]
    assert reports[0]["dropped"] == {"first_sight": 5}
    assert all(r["ok"] and r["failed"] == 0 for r in reports)
    dists = [d for d in emulated.strict.datums if d["MetricName"] == "rpc_duration_seconds"]
    assert [(d["Values"], d["Counts"]) for d in dists] == [
        ([0.05, 0.55, 1.0], [3.0, 2.0, 1.0]),  # increases 3, 5, 6 un-accumulated
        ([0.05, 1.0], [1.0, 1.0]),  # after the restart: counted from zero
    ]
    assert all(d["Unit"] == "Seconds" and len(d["Values"]) <= 150 for d in dists)
    # read back: SampleCount is the observations of both intervals; the percentiles' raw data
    assert sum(statistic(emulated, "rpc_duration_seconds", "SampleCount")) == 8.0
    assert max(statistic(emulated, "rpc_duration_seconds", "Maximum")) == 1.0
    assert min(statistic(emulated, "rpc_duration_seconds", "Minimum")) == 0.05
    counts = [d["Value"] for d in emulated.strict.datums if d["MetricName"] == "rpc_duration_seconds_count"]
    assert counts == [6.0, 2.0]  # SampleCount and _count agree
    sums = [d["Value"] for d in emulated.strict.datums if d["MetricName"] == "rpc_duration_seconds_sum"]
    assert sums == pytest.approx([4.5, 1.3])


def test_emf_mode_writes_valid_documents_and_calls_no_api(
    emulated: Emulated,
    target: Target,
    state_table: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # only the sink's EMF, not self-metrics
    emulated.put_config(config(target.address, "    mode: emf\n    counter_mode: delta\n    rollups: [[]]\n"))
    capsys.readouterr()
    summaries = [cycle(emulated, target, *c) for c in CYCLES[:2]]
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if '"_aws"' in line]
    assert lines and all(violations(line) == [] for line in lines)
    assert emulated.strict.requests == []  # nothing through PutMetricData
    docs = emf_lines(out)
    by_dims: dict[str, dict[str, Any]] = {}
    for doc in docs:
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        for metric in directive["Metrics"]:
            by_dims.setdefault(json.dumps(directive["Dimensions"]), {}).setdefault(metric["Name"], []).append(
                doc[metric["Name"]]
            )
    job_level = by_dims[json.dumps([["job"]])]
    assert job_level["rpc_requests_total"] == [4]  # 11 - 7 (delta), second cycle only
    assert sorted(job_level["rpc_duration_seconds"][0]) == [0.05, 0.05, 0.05, 0.55, 0.55, 1.0]
    assert by_dims[json.dumps([[]])]["up"] == [1, 1]  # the rollup without dimensions
    reports = [s["sinks"][0] for s in summaries]
    assert all(r["ok"] for r in reports)
    assert sum(r["requests"] for r in reports) == len(docs)  # requests counts EMF documents here


EXTREME = """\
# TYPE extreme histogram
extreme_bucket{{le="1e-200"}} {b[0]}
extreme_bucket{{le="1e200"}} {b[1]}
extreme_bucket{{le="1e300"}} {b[2]}
extreme_bucket{{le="+Inf"}} {b[3]}
extreme_sum 1
extreme_count {b[3]}
# TYPE crowded histogram
crowded_bucket{{le="1"}} {crowded}
crowded_bucket{{le="+Inf"}} {crowded}
crowded_sum 1
crowded_count {crowded}
"""


def test_distributions_stay_inside_cloudwatchs_range(emulated: Emulated, state_table: str) -> None:
    """Real CloudWatch refuses a whole request for one Values or Counts member beyond 2^360 (or
    below 2^-360): values are clamped and merged, a distribution whose counts are beyond range
    is dropped and counted, and the strict checker finds nothing to refuse."""
    values: dict[str, Any] = {}
    with serve(lambda _path: Response(EXTREME.format(**values).encode())) as endpoint:
        emulated.put_config(config(endpoint.address))
        values.update(b=(0, 0, 0, 0), crowded=0)
        emulated.invoke()
        values.update(b=(1, 2, 3, 4), crowded="3e300")
        report = emulated.invoke()["sinks"][0]
    assert emulated.strict.violations == []
    (dist,) = [d for d in emulated.strict.datums if d["MetricName"] == "extreme"]
    # 5e-201 is sent as 0; 5e199, 5e299 and the +Inf bucket's 1e300 are clamped to 2^360, merged
    assert (dist["Values"], dist["Counts"]) == ([0.0, 2.0**360], [1.0, 3.0])
    assert not [d for d in emulated.strict.datums if d["MetricName"].startswith("crowded")]
    assert report["dropped"] == {"count_out_of_range": 4}  # its buckets, _sum and _count
    assert report["adjusted"] == {"value_clamped": 6}
