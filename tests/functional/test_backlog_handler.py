"""The handler with a backlog bucket: a failing CloudWatch delays data, the summary and the
self-metrics say so, and recovery delivers every cycle once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from scrape_push.runtime import RUNTIME

from tests.functional.conftest import Emulated
from tests.functional.test_handler import NAMESPACE, config, job, sink
from tests.support.emf import emf_lines
from tests.support.http import Response, serve


def sample_count(emulated: Emulated, name: str, **dims: str) -> float:
    """Datapoints CloudWatch holds for one metric over the last hour (every cycle's, once)."""
    now = datetime.now(UTC)
    metric = {
        "Namespace": NAMESPACE,
        "MetricName": name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
    }
    result = emulated.client("cloudwatch").get_metric_statistics(
        **metric,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["SampleCount"],
    )
    return sum(point["SampleCount"] for point in result["Datapoints"])


def test_an_outage_is_reported_then_replayed_once(
    emulated: Emulated, backlog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    down = [True]

    def unavailable(**_: Any) -> Any:
        if down[0]:
            return AWSResponse("http://test", 503, {}, None), {
                "Error": {"Code": "ServiceUnavailable", "Message": "down for the test"},
                "ResponseMetadata": {"HTTPStatusCode": 503},
            }
        return None

    RUNTIME.aws.session().events.register("before-call.cloudwatch.PutMetricData", unavailable)
    with serve(Response(b"temperature 21.5\n")) as target:
        emulated.put_config(config(job("room", target.address)))
        summaries = [emulated.invoke(), emulated.invoke()]
        down[0] = False
        capsys.readouterr()
        recovered = emulated.invoke()
    first, second = (sink(s) for s in summaries)
    offered = first["offered"]
    assert (first["spilled"], first["failed"], first["sent"]) == (offered, 0, 0)
    assert first["errors"][0].startswith("PutMetricData failed: ServiceUnavailable: down for the test")
    assert second["spilled"] == offered and second["backlog"]["objects"] == 2
    assert second["backlog"]["samples"] == 2 * offered and second["backlog"]["oldest_age_seconds"] > 0
    assert not summaries[1]["ok"] and summaries[1]["samples_spilled"] == offered
    final = sink(recovered)
    assert final["backlog"]["replayed"] == 2 * offered and final["sent"] == offered
    assert (final["backlog"]["objects"], recovered["samples_lost"], recovered["ok"]) == (0, 0, True)
    assert sample_count(emulated, "temperature", job="room", instance=target.address) == 3
    docs = emf_lines(capsys.readouterr().out)
    per_sink = next(d for d in docs if "SamplesReplayed" in d)
    assert (per_sink["SamplesReplayed"], per_sink["BacklogSamples"]) == ([2.0 * offered], [0.0])
    overall = next(d for d in docs if "TargetsUp" in d)
    assert (overall["SamplesLost"], overall["BacklogOldestAgeSeconds"]) == ([0.0], [0.0])
    assert not emulated.client("s3").list_objects_v2(Bucket=backlog).get("Contents")


def test_a_sink_with_its_backlog_off_counts_the_outage_as_lost(
    emulated: Emulated, backlog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def unavailable(**_: Any) -> Any:
        return AWSResponse("http://test", 503, {}, None), {
            "Error": {"Code": "ServiceUnavailable", "Message": "down"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }

    RUNTIME.aws.session().events.register("before-call.cloudwatch.PutMetricData", unavailable)
    with serve(Response(b"temperature 21.5\n")) as target:
        emulated.put_config(config(job("room", target.address)) + "    backlog: {enabled: false}\n")
        capsys.readouterr()
        summary = emulated.invoke()
    report = sink(summary)
    assert (report["failed"], report["spilled"], report["backlog"]) == (report["offered"], 0, None)
    assert summary["samples_lost"] == report["offered"]
    overall = next(d for d in emf_lines(capsys.readouterr().out) if "TargetsUp" in d)
    assert overall["SamplesLost"] == [float(report["offered"])]
