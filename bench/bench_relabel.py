"""Relabeling throughput: label sets per second through typical metric_relabel_configs rules.

    make bench   (or: python bench/bench_relabel.py)

Prints label sets/s for no rules (the fast path), a typical metric_relabel_configs list (drop
by name, labeldrop, replace with a capture) and a labelmap-heavy target relabeling list.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions" / "scrape_push"))

from scrape_push.relabel import RelabelConfig, compile_rules, relabel

SETS = 100_000
ROUNDS = 3

METRIC_RULES = [
    RelabelConfig(source_labels=("__name__",), regex="go_gc_.*|process_.*", action="drop"),
    RelabelConfig(regex="pod_template_hash|controller_revision_hash", action="labeldrop"),
    RelabelConfig(source_labels=("path",), regex="/api/(v[0-9]+)/.*", target_label="api_version"),
    RelabelConfig(source_labels=("code",), regex="5..", target_label="error", replacement="true"),
]
TARGET_RULES = [
    RelabelConfig(regex="__meta_ec2_tag_(.+)", action="labelmap"),
    RelabelConfig(
        source_labels=("__meta_ec2_private_ip",),
        regex="(.*)",
        target_label="__address__",
        replacement="${1}:9100",
    ),
    RelabelConfig(source_labels=("__meta_ec2_instance_state",), regex="running", action="keep"),
]


def label_sets() -> list[dict[str, str]]:
    return [
        {
            "__name__": f"http_requests_{i % 50}",
            "code": str(200 + (i % 4) * 100),
            "instance": f"host-{i // 500}:9100",
            "job": "node",
            "path": f"/api/v{i % 3}/items",
            "pod_template_hash": "abc",
        }
        for i in range(SETS)
    ]


def target_sets() -> list[dict[str, str]]:
    return [
        {
            "__address__": f"10.0.{i // 250}.{i % 250}:80",
            "__meta_ec2_instance_state": "running",
            "__meta_ec2_private_ip": f"10.0.{i // 250}.{i % 250}",
            "__meta_ec2_tag_Name": f"web-{i}",
            "__meta_ec2_tag_team": "payments",
            "__meta_ec2_instance_type": "t4g.small",
        }
        for i in range(SETS)
    ]


def measure(name: str, sets: list[dict[str, str]], configs: list[RelabelConfig]) -> None:
    rules = compile_rules(configs)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for labels in sets:
            relabel(labels, rules)
        best = min(best, time.perf_counter() - start)
    print(f"{name:32} {len(sets) / best:>12,.0f} label sets/s  ({len(configs)} rules)")


def main() -> None:
    metrics = label_sets()
    measure("no rules (fast path)", metrics, [])
    measure("metric_relabel_configs", metrics, METRIC_RULES)
    measure("target relabeling (labelmap)", target_sets(), TARGET_RULES)


if __name__ == "__main__":
    main()
