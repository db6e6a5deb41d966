"""A planned target, rebuilt in a worker from its configuration, is the target the planner built."""

from __future__ import annotations

from dataclasses import replace

from scrape_push.config.source import parse_config
from scrape_push.plugins import BuildContext
from scrape_push.relabel import NO_RULES
from scrape_push.runtime import Runtime
from scrape_push.settings import Settings
from scrape_push.shards.handoff import PlannedTarget, rebuild
from scrape_push.targets import Discoveries, build_targets

CONFIG = """
global: {scrape_interval: 30s, external_labels: {region: eu}}
scrape_configs:
  - job_name: node
    scheme: https
    metrics_path: /probe
    params: {module: [http_2xx, tcp], target: [a]}
    honor_labels: true
    sample_limit: 5000
    basic_auth: {username: u, password: secret}
    tls_config: {insecure_skip_verify: true}
    static_configs:
      - targets: ['10.0.0.1:9100', '[::1]:9200', 'host.example']
        labels: {team: payments}
      - targets: ['10.0.0.2:9100']
        labels: {__param_target: b, __scrape_timeout__: 7s}
    relabel_configs:
      - {source_labels: [__address__], regex: '10\\.0\\.0\\.2.*', action: drop}
      - {source_labels: [__address__], target_label: host, regex: '([^:]+).*'}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: go_.*, action: drop}
  - job_name: api
    static_configs: [{targets: ['api:8080']}]
remote_write: [{url: 'http://127.0.0.1:9/api/v1/write'}]
"""


def discoveries() -> Discoveries:
    runtime = Runtime(Settings())
    return Discoveries(
        BuildContext(
            settings=runtime.settings, aws=runtime.aws, secrets=runtime.secrets, max_concurrent_requests=1
        )
    )


def test_a_worker_builds_exactly_the_targets_the_planner_planned() -> None:
    config = parse_config(CONFIG).config
    planned = build_targets(config, None, discoveries()).targets
    assert len(planned) == 4
    rebuilt = rebuild(config, [PlannedTarget.of(t, 10) for t in planned], discoveries())
    assert rebuilt.errors == []
    # Equal in every field; the compiled metric_relabel_configs are compiled again (same key).
    assert [replace(t, metric_relabel=NO_RULES) for t in rebuilt.targets] == [
        replace(t, metric_relabel=NO_RULES) for t in planned
    ]
    assert [len(t.metric_relabel.steps) for t in rebuilt.targets] == [1, 1, 1, 0]


def test_a_planned_target_whose_job_is_gone_is_an_error_of_its_own() -> None:
    config = parse_config(CONFIG).config
    planned = [PlannedTarget.of(t) for t in build_targets(config, None, discoveries()).targets]
    changed = parse_config(CONFIG.replace("job_name: api", "job_name: web")).config
    rebuilt = rebuild(changed, planned, discoveries())
    assert [t.job for t in rebuilt.targets] == ["node"] * 3
    (error,) = rebuilt.errors
    assert (error.job, error.target) == ("api", "http://api:8080/metrics")
    assert "not in the configuration any more" in error.error


def test_a_worker_uses_the_job_settings_of_its_own_configuration() -> None:
    config = parse_config(CONFIG).config
    planned = [PlannedTarget.of(t) for t in build_targets(config, None, discoveries()).targets]
    stricter = parse_config(CONFIG.replace("sample_limit: 5000", "sample_limit: 10")).config
    rebuilt = rebuild(stricter, planned, discoveries())
    assert {t.limits.sample_limit for t in rebuilt.targets if t.job == "node"} == {10}
    assert [t.url for t in rebuilt.targets] == [t.url for t in planned]
