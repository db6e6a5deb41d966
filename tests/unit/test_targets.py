"""Target building as Prometheus does it: default labels, relabel_configs, URL and instance."""

from __future__ import annotations

from scrape_push.config.source import parse_config
from scrape_push.targets import MAX_LISTED_DROPPED_TARGETS, TargetError, build_targets

from tests.support.context import discoveries

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
    targets = build_targets(parse_config(CONFIG).config, None, discoveries()).targets
    assert [t.url for t in targets] == [
        "http://a:9100/metrics",
        "http://b:9100/metrics",
        "https://blackbox:9115/probe?module=http_2xx&target=x.example&target=y+example",
    ]
    assert targets[0].labels == (("instance", "a:9100"), ("job", "node"), ("team", "infra"))
    assert targets[0].external_labels == (("region", "eu"),)
    assert targets[0].timeout == 7.0


def test_explicit_target_labels_override_job_and_instance_as_in_prometheus() -> None:
    probe = build_targets(parse_config(CONFIG).config, None, discoveries()).targets[2]
    assert probe.labels == (("instance", "custom"), ("job", "renamed"))
    assert probe.job == "probe"
    assert probe.timeout == 3.0


def test_jobs_filter_selects_only_named_jobs() -> None:
    targets = build_targets(parse_config(CONFIG).config, ["probe"], discoveries()).targets
    assert [t.job for t in targets] == ["probe"]


def test_default_timeout_is_ten_seconds_capped_by_interval() -> None:
    config = parse_config(
        "global: {scrape_interval: 5s}\n"
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [h:1]}]\n"
    ).config
    assert build_targets(config, None, discoveries()).targets[0].timeout == 5.0


def test_address_without_port_gets_the_schemes_port() -> None:
    config = parse_config(
        "scrape_configs:\n"
        "  - job_name: a\n    static_configs: [{targets: [plain]}]\n"
        "  - job_name: b\n    scheme: https\n    static_configs: [{targets: [secure, '[::1]']}]\n"
    ).config
    assert [t.url for t in build_targets(config, None, discoveries()).targets] == [
        "http://plain:80/metrics",
        "https://secure:443/metrics",
        "https://[::1]:443/metrics",
    ]


RELABELED = """
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [http_2xx]}
    static_configs:
      - targets: ["https://example.com", "https://example.org", "https://drop.me"]
        labels: {__meta_env: prod, env: ""}
    relabel_configs:
      - source_labels: [__address__]
        regex: https://drop\\.me
        action: drop
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: blackbox-exporter:9115
      - source_labels: [__meta_env]
        target_label: env
      - source_labels: [__scrape_timeout__]
        target_label: timeout_seen
      - target_label: __scrape_timeout__
        replacement: 4s
"""


def test_relabel_configs_see_prometheus_labels_and_shape_the_target() -> None:
    found = build_targets(parse_config(RELABELED).config, None, discoveries())
    assert found.dropped == 1 and found.errors == []
    first, second = found.targets
    assert first.url == "http://blackbox-exporter:9115/probe?module=http_2xx&target=https%3A%2F%2Fexample.com"
    assert first.labels == (
        ("env", "prod"),
        ("instance", "https://example.com"),
        ("job", "blackbox"),
        ("timeout_seen", "10s"),
    )
    assert first.timeout == 4.0
    assert second.labels[1] == ("instance", "https://example.org")


def test_a_target_left_without_address_is_an_error_not_a_crash() -> None:
    config = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [h:1]}]\n"
        "    relabel_configs: [{action: labeldrop, regex: __address__}]\n"
    ).config
    found = build_targets(config, None, discoveries())
    assert found.targets == []
    assert found.errors == [TargetError("a", "h:1", "no address")]


def test_metric_relabel_rules_are_compiled_per_job_with_an_identity() -> None:
    config = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [h:1]}]\n"
        "    metric_relabel_configs: [{source_labels: [__name__], regex: go_.*, action: drop}]\n"
        "  - job_name: b\n    static_configs: [{targets: [h:2]}]\n"
    ).config
    a, b = build_targets(config, None, discoveries()).targets
    assert len(a.metric_relabel) == 1 and len(b.metric_relabel) == 0
    assert a.metric_relabel_key != b.metric_relabel_key


def test_an_address_that_is_a_url_after_relabeling_is_an_error() -> None:
    config = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://h/x']}]\n"
    ).config
    found = build_targets(config, None, discoveries())
    assert found.errors == [TargetError("a", "http://h/x", "'http://h/x' is not a valid hostname")]


def test_credentials_in_an_address_are_refused_never_shown() -> None:
    config = parse_config(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['u:secret@h:1']}]\n"
    ).config
    (error,) = build_targets(config, None, discoveries()).errors
    assert error.error == "the address must not carry credentials (user@host); use basic_auth"
    assert error.target == "<redacted>@h:1"


LIMITED = """
global:
  target_limit: 2
  keep_dropped_targets: 2
scrape_configs:
  - job_name: over
    static_configs:
      - targets: ["a:1", "b:1", "c:1", "a:1"]
  - job_name: within
    target_limit: 3
    static_configs:
      - targets: ["a:1", "b:1", "c:1"]
  - job_name: duplicates
    static_configs:
      - targets: ["a:1", "a:1", "b:1"]
  - job_name: relabeled
    static_configs:
      - targets: ["user:pw@a:1", "b:1", "c:1", "d:1"]
        labels: {team: x}
    relabel_configs:
      - source_labels: [__address__]
        regex: d:1
        action: keep
"""


def test_a_job_over_its_target_limit_scrapes_none_each_failed_with_prometheus_message() -> None:
    found = build_targets(parse_config(LIMITED).config, None, discoveries())
    failed = [(f.target.job, f.target.instance, f.error) for f in found.failed]
    message = "target_limit exceeded (number of targets: 3, limit: 2)"
    assert failed == [
        ("over", "a:1", message),
        ("over", "b:1", message),
        ("over", "c:1", message),
        ("over", "a:1", message),
    ]
    assert [t.job for t in found.targets] == ["within"] * 3 + ["duplicates"] * 3 + ["relabeled"]


def test_dropped_targets_are_counted_and_listed_up_to_keep_dropped_targets() -> None:
    found = build_targets(parse_config(LIMITED).config, ["relabeled"], discoveries())
    assert found.dropped == 3
    discovered = {
        "__metrics_path__": "/metrics",
        "__scheme__": "http",
        "__scrape_interval__": "1m",
        "__scrape_timeout__": "10s",
        "job": "relabeled",
        "team": "x",
    }
    assert [dict(d.labels) for d in found.dropped_targets] == [
        {"__address__": "<redacted>@a:1", **discovered},
        {"__address__": "b:1", **discovered},
    ]


def test_keep_dropped_targets_0_lists_every_dropped_target_up_to_a_bound() -> None:
    many = ", ".join(f'"h{i}:1"' for i in range(MAX_LISTED_DROPPED_TARGETS + 5))
    text = f"scrape_configs:\n  - job_name: a\n    static_configs: [{{targets: [{many}]}}]\n"
    text += "    relabel_configs: [{action: drop, source_labels: [job], regex: a}]\n"
    found = build_targets(parse_config(text).config, None, discoveries())
    assert found.dropped == MAX_LISTED_DROPPED_TARGETS + 5
    assert len(found.dropped_targets) == MAX_LISTED_DROPPED_TARGETS
