from __future__ import annotations

from scrape_push.config import parse_config
from scrape_push.targets import build_targets

CONFIG = """
global:
  scrape_timeout: 7s
  external_labels: {region: eu}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["a:9100", "b:9100"]
        labels: {team: infra}
  - job_name: probe
    scheme: https
    metrics_path: /probe
    scrape_timeout: 3s
    params: {module: [http_2xx], target: ["x.example", "y example"]}
    static_configs:
      - targets: ["blackbox:9115"]
        labels: {instance: custom, job: renamed}
"""


def test_targets_get_job_instance_and_static_labels() -> None:
    targets = build_targets(parse_config(CONFIG).config)
    assert [t.url for t in targets] == [
        "http://a:9100/metrics",
        "http://b:9100/metrics",
        "https://blackbox:9115/probe?module=http_2xx&target=x.example&target=y+example",
    ]
    assert targets[0].labels == (("instance", "a:9100"), ("job", "node"), ("team", "infra"))
    assert targets[0].external_labels == (("region", "eu"),)
    assert targets[0].timeout == 7.0


def test_explicit_target_labels_override_job_and_instance_as_in_prometheus() -> None:
    probe = build_targets(parse_config(CONFIG).config)[2]
    assert probe.labels == (("instance", "custom"), ("job", "renamed"))
    assert probe.job == "probe"
    assert probe.timeout == 3.0


def test_jobs_filter_selects_only_named_jobs() -> None:
    targets = build_targets(parse_config(CONFIG).config, ["probe"])
    assert [t.job for t in targets] == ["probe"]


def test_default_timeout_is_ten_seconds_capped_by_interval() -> None:
    config = parse_config(
        "global: {scrape_interval: 5s}\n"
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [h:1]}]\n"
    ).config
    assert build_targets(config)[0].timeout == 5.0
