"""The local main job: the real handler against an emulated AWS and a real exposition endpoint.

    make demo        (or: python -m devtools.demo)

Starts a moto server and a prometheus_client app on 127.0.0.1, writes events/demo-config.yaml
(with the app's address) into emulated SSM, invokes the handler with events/scheduled.json and
a Lambda-like context exactly as ``sam local invoke`` would, reads the metrics back from
emulated CloudWatch with GetMetricData, prints them, and stops every process it started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import requests
import yaml

from devtools import processes, resources
from devtools.local_invoke import invoke

ROOT = Path(__file__).resolve().parent.parent
PARAMETER = "/scrape-push/config"
REGION = "us-east-1"


def demo_config(address: str) -> str:
    """events/demo-config.yaml with its demo job pointed at ``address``."""
    config = yaml.safe_load((ROOT / "events" / "demo-config.yaml").read_text())
    config["scrape_configs"][0]["static_configs"][0]["targets"] = [address]
    return yaml.safe_dump(config, sort_keys=False)


def read_back(cloudwatch: Any, namespace: str) -> list[tuple[str, str, float, datetime]]:
    """Every metric in ``namespace`` with its latest value, via ListMetrics + GetMetricData."""
    metrics = [
        m
        for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace)
        for m in page["Metrics"]
    ]
    now = datetime.now(UTC)
    rows = []
    for start in range(0, len(metrics), 500):
        chunk = metrics[start : start + 500]
        queries = [
            {"Id": f"m{i}", "ReturnData": True, "MetricStat": {"Metric": m, "Period": 60, "Stat": "Maximum"}}
            for i, m in enumerate(chunk)
        ]
        result = cloudwatch.get_metric_data(
            MetricDataQueries=queries, StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5)
        )
        by_id = {r["Id"]: r for r in result["MetricDataResults"]}
        for i, metric in enumerate(chunk):
            found = by_id.get(f"m{i}", {})
            if found.get("Values"):
                dims = ",".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions", []))
                rows.append((metric["MetricName"], dims, found["Values"][0], found["Timestamps"][0]))
    return sorted(rows)


def print_table(rows: list[tuple[str, str, float, datetime]]) -> None:
    name_w = max([len("metric")] + [len(r[0]) for r in rows])
    dims_w = max([len("dimensions")] + [len(r[1]) for r in rows])
    print(f"{'metric':<{name_w}}  {'dimensions':<{dims_w}}  {'value':>14}  timestamp (UTC)")
    print(f"{'-' * name_w}  {'-' * dims_w}  {'-' * 14}  {'-' * 19}")
    for name, dims, value, ts in rows:
        print(f"{name:<{name_w}}  {dims:<{dims_w}}  {value:>14.6g}  {ts:%Y-%m-%d %H:%M:%S}")


def print_summary(summary: dict[str, Any]) -> None:
    print("targets:")
    for t in summary["targets"]:
        status = "up" if t["up"] else f"DOWN ({t['error']})"
        print(
            f"  {t['job']:<10} {t['instance']:<22} {status:<6} {t['samples']:>4} samples  "
            f"{t['duration_seconds'] * 1000:.1f} ms"
        )
    print("sinks:")
    for s in summary["sinks"]:
        backlog = s["backlog"] or {}
        print(
            f"  {s['name']:<24} sent {s['sent']}, failed {s['failed']}, dropped {s['dropped'] or 0}, "
            f"{s['requests']} request(s); backlog: {s['spilled']} spilled, "
            f"{backlog.get('objects', 0)} item(s) waiting"
        )


def created_samples(exposition: str) -> int:
    """How many ``_created`` samples an exposition holds (one per counter, histogram or summary
    series: when it started counting)."""
    names = (line.split("{", 1)[0].split(" ", 1)[0] for line in exposition.splitlines() if line[:1] != "#")
    return sum(1 for name in names if name.endswith("_created"))


def sent_versus_read_back(sent: int, metrics: int, created: int) -> str:
    """Why the samples sent and the metrics read back differ."""
    if sent - metrics == created:
        return (
            f"{sent} samples sent, {metrics} metrics read back: the {created} `_created` samples (when each\n"
            "counter, histogram and summary series started) are sent with their series, not as metrics of\n"
            "their own."
        )
    return f"{sent} samples sent, {metrics} metrics read back ({created} of the samples were `_created`)."


def run(verbose: bool) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="scrape-push-demo-"))
    moto = app = None
    try:
        moto = processes.start_moto(workdir / "moto.log")
        app = processes.start_exposition_app(workdir / "app.log")
        print(f"moto server        {moto.url} (pid {moto.pid})")
        print(f"exposition app     {app.url}/metrics (pid {app.pid})")
        env = {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "CONFIG_PARAMETER": PARAMETER,
            "POWERTOOLS_LOG_LEVEL": "INFO" if verbose else "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "false" if verbose else "true",
        }
        os.environ.update(env)
        os.environ.pop("AWS_PROFILE", None)
        # The template's state table (counter state, delivery leases) and backlog bucket.
        env["STATE_TABLE"] = resources.create_state_table(boto3.client("dynamodb", region_name=REGION))
        env["BACKLOG_BUCKET"] = resources.create_backlog_bucket(boto3.client("s3", region_name=REGION))
        os.environ.update(env)
        config = demo_config(f"127.0.0.1:{app.port}")
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=PARAMETER, Value=config, Type="String", Overwrite=True
        )
        print(f"SSM parameter      {PARAMETER} <- events/demo-config.yaml\n")
        event = json.loads((ROOT / "events" / "scheduled.json").read_text())
        summary = invoke(event, env=env)
        print_summary(summary)
        namespace = yaml.safe_load(config)["cloudwatch"][0]["namespace"]
        rows = read_back(boto3.client("cloudwatch", region_name=REGION), namespace)
        print(f"\nread back from emulated CloudWatch, namespace {namespace!r}: {len(rows)} metrics\n")
        print_table(rows)
        exposition = requests.get(f"{app.url}/metrics", timeout=10).text
        sent = sum(s["sent"] for s in summary["sinks"])
        print("\n" + sent_versus_read_back(sent, len(rows), created_samples(exposition)))
        return 0 if summary["ok"] and rows else 1
    finally:
        for process in (app, moto):
            if process is not None:
                process.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the handler's logs")
    return run(parser.parse_args().verbose)


if __name__ == "__main__":
    sys.exit(main())
