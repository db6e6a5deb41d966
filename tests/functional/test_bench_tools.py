"""The benchmarks' tools: the fleet of targets and its receiver (devtools/target_fleet.py) and the
handler in a process of its own (devtools/handler_runner.py), run as the benchmarks run them."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools import processes, target_fleet
from devtools.target_fleet import exposition
from tests.functional.conftest import Emulated
from tests.support.http import Response, serve
from tests.support.parsing import parse_exposition
from tests.support.remote_write import capture

pytestmark = pytest.mark.once  # long and interpreter-independent: not run again on 3.13

ROOT = Path(__file__).resolve().parents[2]


def test_a_fleet_body_has_exactly_the_series_asked_for_and_values_that_move() -> None:
    for series in (1_000, 2_345):
        first = parse_exposition(exposition(series, 0))
        later = parse_exposition(exposition(series, 1))
        assert len(first) == len({(s.name, s.labels) for s in first}) == series
        assert [(s.name, s.labels) for s in first] == [(s.name, s.labels) for s in later]
        assert all(a.value != b.value for a, b in zip(first, later, strict=True))
        assert {s.family.type for s in first} >= {"counter", "gauge", "summary", "histogram"}


def test_the_fleet_serves_each_target_on_a_port_gzipped_when_asked_and_counts_scrapes(
    tmp_path: Path,
) -> None:
    with target_fleet.running(tmp_path, 3, 50) as fleet:
        assert len(set(fleet.ports)) == 3
        before = time.time()
        zipped = requests.get(
            f"http://{fleet.addresses[0]}/metrics",
            headers={"Accept-Encoding": "gzip"},
            stream=True,
            timeout=10,
        )
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert len(parse_exposition(gzip.decompress(zipped.raw.read()))) == 50
        plain = requests.get(
            f"http://{fleet.addresses[2]}/metrics", headers={"Accept-Encoding": "identity"}, timeout=10
        )
        assert "Content-Encoding" not in plain.headers and len(parse_exposition(plain.content)) == 50
        after = time.time()
        assert fleet.scrapes(before, after) == 2
        assert fleet.stats(after, after + 60)["scrapes"] == {}


def test_the_fleet_s_receiver_answers_remote_write_with_204_and_counts_it(tmp_path: Path) -> None:
    with target_fleet.running(tmp_path, 1, 10) as fleet:
        assert fleet.counts() == {"requests": 0, "bytes": 0}
        with requests.Session() as session:  # one connection: the body must be read past
            for body in (b"x" * 70_000, b"yz"):
                answer = session.post(fleet.write_url, data=body, timeout=10)
                assert answer.status_code == 204
        assert fleet.counts() == {"requests": 2, "bytes": 70_002}
        assert fleet.scrapes(0, time.time() + 1) == 0  # the receiver's requests are not scrapes


def runner(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.handler_runner", mode, "512", "30"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        text=True,
    )


def config_for(emulated: Emulated, target: str, url: str) -> None:
    emulated.put_config(
        f"scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['{target}']}}]\n"
        f"remote_write:\n  - url: {url}\n"
    )


def test_the_warm_runner_invokes_once_per_line_and_prints_only_its_reports(emulated: Emulated) -> None:
    with serve(Response(b"# TYPE jobs_total counter\njobs_total 3\n")) as target, capture() as receiver:
        config_for(emulated, target.address, receiver.url)
        child = runner("warm")
        try:
            out, err = child.communicate("invoke\ninvoke\n", timeout=120)
        finally:
            processes.Process(child, 0).stop()  # type: ignore[arg-type]
        assert child.returncode == 0, err
        records = [json.loads(line) for line in out.splitlines()]  # the function's log went elsewhere
        assert len(records) == 2
        for record in records:
            assert 0 < record["cpu_start"] < record["cpu_end"] and record["peak_rss_bytes"] > 0
            assert record["summary"]["targets_up"] == 1 and record["summary"]["sinks"][0]["ok"]
            assert "targets" not in record["summary"]
        assert records[0]["cpu_end"] <= records[1]["cpu_start"]  # one process, both invocations
        assert len(receiver.requests) >= 2


def test_the_cold_runner_counts_its_cpu_from_the_process_start_and_exits(emulated: Emulated) -> None:
    with serve(Response(b"# TYPE jobs_total counter\njobs_total 3\n")) as target, capture() as receiver:
        config_for(emulated, target.address, receiver.url)
        child = runner("cold")
        try:
            out, err = child.communicate("", timeout=120)
        finally:
            processes.Process(child, 0).stop()  # type: ignore[arg-type]
        assert child.returncode == 0, err
        (line,) = out.splitlines()
        record = json.loads(line)
        assert 0 < record["cpu_at_start"] < record["cpu_imports"] <= record["cpu_start"] < record["cpu_end"]
        assert record["summary"]["sinks"][0]["sent"] == record["summary"]["samples"]


def test_the_memory_profile_reports_each_cycle_s_peak_and_the_allocation_sites() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "profile_memory.py"),
            "--targets",
            "2",
            "--trace",
            "--top",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("cycle")] == [
        "cycle 1 (cold)",
        "cycle 2 (warm)",
        "cycle 3 (warm)",
    ]
    assert any(line.startswith("after the last cycle: ") for line in lines)
    assert any("scrape/entries.py:" in line for line in lines), done.stdout  # the series' own sites
