"""Realistic prometheus.yml files (tests/fixtures/prometheus) paste: each validates with exactly
the warnings expected, or is refused where a key names a file, each time naming what to use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from scrape_push.cli import main
from scrape_push.config.errors import ConfigError
from scrape_push.config.schema import json_schema
from scrape_push.config.source import LoadedConfig, parse_config, runnable
from scrape_push.targets import build_targets

from tests.support.context import discoveries

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prometheus"

RULES = "has no effect here: scrape-push evaluates no recording or alerting rules"
FAILURE_LOG = (
    "has no effect here: failed scrapes go to the function's log (a WARNING each) and the summary; "
    "no file is written"
)
NO_ALERTS = "has no effect here: scrape-push sends no alerts (alert where the data is stored)"


def no_discovery(name: str) -> str:
    return (
        f"has no effect here: scrape-push has no {name} discovery (docs/discovery.md): "
        "the job gets no targets from it"
    )


WARNINGS: dict[str, list[str]] = {
    "amp.yml": [],
    "blackbox.yml": [],
    "federation.yml": [],
    "node-exporter.yml": [
        f"global.evaluation_interval: {RULES} (line 6)",
        f"rule_files: {RULES} (line 10)",
        f"alerting: {NO_ALERTS} (line 13)",
    ],
    "kubernetes.yml": [
        f"scrape_configs[0].kubernetes_sd_configs: {no_discovery('kubernetes')} (line 11)",
        f"scrape_configs[1].kubernetes_sd_configs: {no_discovery('kubernetes')} (line 28)",
    ],
    "every-key.yml": [
        f"global.evaluation_interval: {RULES} (line 10)",
        f"global.rule_query_offset: {RULES} (line 11)",
        "global.query_log_file: has no effect here: scrape-push runs no PromQL queries (line 14)",
        f"global.scrape_failure_log_file: {FAILURE_LOG} (line 15)",
        "runtime.gogc: has no effect here: it tunes Go's garbage collector; scrape-push runs on Python "
        "(memory: the function's MemorySize) (line 31)",
        f"rule_files: {RULES} (line 34)",
        f"alerting: {NO_ALERTS} (line 37)",
        "remote_read: has no effect here: scrape-push answers no queries (line 45)",
        "storage: has no effect here: scrape-push stores nothing locally: samples go straight to the sinks "
        "(line 48)",
        "tracing: has no effect here: scrape-push exports no traces (turn on the function's X-Ray tracing "
        "instead) (line 54)",
        "otlp: has no effect here: these are settings of Prometheus's OTLP receiver; scrape-push receives "
        "no OTLP (line 58)",
        "scrape_configs[0].convert_classic_histograms_to_nhcb: has no effect here: no native histograms "
        "with custom buckets are made; classic histograms are sent as scraped (line 70)",
        "scrape_configs[0].extra_scrape_metrics: has no effect here: scrape_timeout_seconds, "
        "scrape_sample_limit and scrape_body_size_bytes are not produced (line 71)",
        f"scrape_configs[0].scrape_failure_log_file: {FAILURE_LOG} (line 72)",
        f"scrape_configs[1].consul_sd_configs: {no_discovery('consul')} (line 133)",
        f"scrape_configs[1].dns_sd_configs: {no_discovery('dns')} (line 135)",
        f"scrape_configs[1].kubernetes_sd_configs: {no_discovery('kubernetes')} (line 137)",
    ],
}

NO_FILES = "not supported: the function reads no files"
SSM = "put the secret in an SSM SecureString parameter and name it in"
NO_MANAGER = "not supported: Prometheus's secret managers are not available here"
PROBLEMS: dict[str, list[str]] = {
    "kubernetes-in-cluster.yml": [
        f"scrape_configs[0].bearer_token_file: {NO_FILES}: {SSM} authorization.credentials_ssm_parameter "
        "(line 14)",
        f"scrape_configs[1].authorization.credentials_file: {NO_FILES}: {SSM} credentials_ssm_parameter "
        "(line 26)",
    ],
    "refused.yml": [
        f"scrape_config_files: {NO_FILES}: put the jobs in the configuration itself, split over several "
        "SSM parameters under the stack's ConfigPath when it is too big for one (docs/scrape-configs.md) "
        "(line 3)",
        f"scrape_configs[0].bearer_token_file: {NO_FILES}: {SSM} authorization.credentials_ssm_parameter "
        "(line 8)",
        f"scrape_configs[0].file_sd_configs: {NO_FILES}: list the targets in static_configs (a job per SSM "
        "parameter when the list is long) or use a discovery scrape-push has (docs/discovery.md) (line 9)",
        f"scrape_configs[1].basic_auth.username_file: {NO_FILES}: set username (line 15)",
        f"scrape_configs[1].basic_auth.password_file: {NO_FILES}: {SSM} password_ssm_parameter (line 16)",
        "scrape_configs[2].basic_auth.username: missing required key (line 21)",
        f"scrape_configs[2].basic_auth.username_ref: {NO_MANAGER}: set username (line 22)",
        f"scrape_configs[2].basic_auth.password_ref: {NO_MANAGER}: {SSM} password_ssm_parameter (line 23)",
        f"scrape_configs[2].tls_config.ca_ref: {NO_MANAGER}: give the CA inline in ca, or a file shipped "
        "in a layer in ca_file (line 25)",
        f"scrape_configs[2].tls_config.cert_ref: {NO_MANAGER}: give the certificate inline in cert, or in "
        "cert_file (line 26)",
        f"scrape_configs[2].tls_config.key_ref: {NO_MANAGER}: {SSM} key_ssm_parameter (line 27)",
        "scrape_configs[2].tls_config.min_version: not supported: TLS 1.3 as the minimum is not supported "
        "yet: leave min_version out (TLS 1.2) (line 28)",
        f"scrape_configs[3].authorization.credentials_file: {NO_FILES}: {SSM} credentials_ssm_parameter "
        "(line 34)",
        f"scrape_configs[4].authorization.credentials_ref: {NO_MANAGER}: {SSM} credentials_ssm_parameter "
        "(line 40)",
        f"remote_write[0].basic_auth.password_file: {NO_FILES}: {SSM} password_ssm_parameter (line 48)",
    ],
}


def test_every_fixture_is_asserted() -> None:
    assert {p.name for p in FIXTURES.glob("*.yml")} == {*WARNINGS, *PROBLEMS}


def load(name: str) -> LoadedConfig:
    path = FIXTURES / name
    return runnable(parse_config(path.read_text(), str(path)))


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_a_pasted_prometheus_yml_validates_with_exactly_its_warnings(name: str) -> None:
    assert [str(w) for w in load(name).warnings] == WARNINGS[name]


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_a_pasted_prometheus_yml_satisfies_the_schema(name: str) -> None:
    jsonschema.validate(yaml.safe_load((FIXTURES / name).read_text()), json_schema())


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_keys_naming_files_are_refused_naming_what_to_use(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(name)
    assert [str(p) for p in caught.value.problems] == PROBLEMS[name]


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_the_schema_refuses_them_too(name: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load((FIXTURES / name).read_text()), json_schema())


def test_validate_prints_the_warnings_under_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "node-exporter.yml"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: valid (2 jobs, 5 static targets, 1 sinks, 3 warning(s))",
        *(f"  warning: {w}" for w in WARNINGS["node-exporter.yml"]),
    ]


def test_every_key_means_what_prometheus_means() -> None:
    config = load("every-key.yml").config
    api, discovered, legacy, oauth = config.scrape_configs
    assert api.scrape_protocols == (
        "OpenMetricsText1.0.0",
        "OpenMetricsText0.0.1",
        "PrometheusText1.0.0",
        "PrometheusText0.0.4",
    )
    assert (api.fallback_scrape_protocol, api.enable_compression) == ("PrometheusText0.0.4", False)
    assert api.track_timestamps_staleness is True
    assert (api.sample_limit, api.target_limit, api.keep_dropped_targets) == (50000, 10, 5)
    assert api.body_size_limit == 20 * 1024 * 1024
    # What a job leaves unset comes from global, limits included (ScrapeConfig.Validate).
    assert discovered.scrape_protocols == ("OpenMetricsText1.0.0", "PrometheusText0.0.4")
    assert (discovered.sample_limit, discovered.label_limit) == (100000, 60)
    assert (discovered.label_name_length_limit, discovered.label_value_length_limit) == (200, 2048)
    assert (discovered.target_limit, discovered.keep_dropped_targets) == (500, 20)
    assert discovered.body_size_limit == 32 * 1024 * 1024
    assert list(discovered.discovery) == ["ec2_sd_configs"]
    # bearer_token is the authorization it stands for, as in Prometheus.
    assert legacy.http.bearer_token is None and legacy.http.authorization is not None
    assert legacy.http.authorization.type == "Bearer"
    assert legacy.http.authorization.credentials is not None
    assert legacy.http.authorization.credentials.reveal() == "also-not-a-real-token"
    # Prometheus's HTTP client keys, inline in the job.
    assert api.http.proxy.no_proxy == "localhost,169.254.169.254,10.0.2.0/24"
    assert list(api.http.proxy.proxy_connect_header) == ["X-Proxy-Client"]
    assert list(api.http.http_headers) == ["X-Team"]
    assert oauth.http.oauth2 is not None and oauth.http.oauth2.client_id == "scrape-push"
    assert config.runtime.max_concurrent_scrapes == 32


def test_every_key_builds_the_requests_prometheus_would_make() -> None:
    config = load("every-key.yml").config
    api = build_targets(config, ["api"], discoveries()).targets[0]
    assert api.negotiation.headers == {
        "Accept": "application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,"
        "application/openmetrics-text;version=0.0.1;q=0.5,"
        "text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        "Accept-Encoding": "identity",
    }
    assert api.negotiation.fallback == "text/plain"
    assert (api.limits.sample_limit, api.limits.label_limit) == (50000, 30)
    legacy = build_targets(config, ["legacy-token"], discoveries()).targets[0]
    assert legacy.negotiation.headers == {  # global's utf8 names: allow-utf-8, as Prometheus 3.x
        "Accept": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.4",
        "Accept-Encoding": "gzip",
    }
    assert (legacy.limits.sample_limit, legacy.limits.label_value_length_limit) == (100000, 2048)
    assert legacy.body_size_limit == 32 * 1024 * 1024


def words(text: str) -> list[str]:
    return text.split()


# Prometheus 3.x's documented keys (docs/configuration/configuration.md, config.go), by section.
DOCUMENTED_TOP_LEVEL = words(
    "global runtime rule_files scrape_config_files scrape_configs alerting remote_write otlp "
    "remote_read storage tracing"
)
SCRAPE_DEFAULTS = words(
    "scrape_interval scrape_timeout scrape_protocols scrape_failure_log_file body_size_limit "
    "sample_limit label_limit label_name_length_limit label_value_length_limit target_limit "
    "keep_dropped_targets metric_name_validation_scheme metric_name_escaping_scheme "
    "scrape_native_histograms convert_classic_histograms_to_nhcb always_scrape_classic_histograms "
    "extra_scrape_metrics"
)
"""The keys ``global`` gives every job a default for."""
DOCUMENTED_GLOBAL = [
    *SCRAPE_DEFAULTS,
    *words("evaluation_interval rule_query_offset external_labels query_log_file"),
]
DOCUMENTED_SCRAPE_CONFIG = [
    *SCRAPE_DEFAULTS,
    *words(
        "job_name fallback_scrape_protocol metrics_path honor_labels honor_timestamps "
        "track_timestamps_staleness scheme params enable_compression static_configs relabel_configs "
        "metric_relabel_configs native_histogram_bucket_limit native_histogram_min_bucket_factor "
        "basic_auth authorization follow_redirects tls_config proxy_url oauth2 enable_http2 "
        "no_proxy proxy_from_environment proxy_connect_header http_headers"
    ),
]
REFUSED = {"scrape_config_files"}


def _keys(mappings: list[Any]) -> set[str]:
    return {key for mapping in mappings for key in mapping}


def test_every_key_yml_sets_every_documented_key() -> None:
    document = yaml.safe_load((FIXTURES / "every-key.yml").read_text())
    assert set(DOCUMENTED_TOP_LEVEL) - REFUSED <= set(document)
    assert set(DOCUMENTED_GLOBAL) <= set(document["global"])
    assert "gogc" in document["runtime"]
    assert set(DOCUMENTED_SCRAPE_CONFIG) <= _keys(document["scrape_configs"])
