"""Keys without a field: judged by their rule (accepted quietly, with a warning once per key path,
or refused), never taking precedence over a field or a plugin's key, and suggested for typos."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from scrape_push.config.decode import decode
from scrape_push.config.errors import ConfigWarning
from scrape_push.config.fragments import merge_fragments
from scrape_push.config.model import ScrapeConfig
from scrape_push.config.prometheus import PROMETHEUS_KEYS, SD_MECHANISMS, NoEffect
from scrape_push.config.source import parse_config, parse_fragments
from scrape_push.plugins import DISCOVERIES, SINKS

from tests.unit.config.test_problems import problems


def warnings(text: str) -> list[str]:
    return [str(w) for w in parse_config(text).warnings]


def test_a_value_that_asks_for_what_scrape_push_does_is_accepted_quietly() -> None:
    text = (
        "global: {scrape_native_histograms: false, metric_name_validation_scheme: legacy}\n"
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    native_histogram_bucket_limit: 0\n"
        "    always_scrape_classic_histograms: false\n"
        "    metric_name_escaping_scheme: underscores\n"
        "    tls_config: {min_version: TLS12, max_version: TLS13}\n"
    )
    assert warnings(text) == []


def test_a_value_prometheus_would_refuse_is_refused_in_its_words() -> None:
    text = (
        "global: {scrape_native_histograms: 'yes', evaluation_interval: 1 minute}\n"
        "runtime: {gogc: off}\n"
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    metric_name_validation_scheme: UTF8\n"
        "    tls_config: {min_version: TLS14}\n"
        "rule_files: rules.yml\n"
    )
    assert problems(text) == [
        "global.evaluation_interval: not a valid duration string: '1 minute' (e.g. '10s', '1m30s', '500ms') "
        "(line 1)",
        "global.scrape_native_histograms: expected a boolean, got a string (line 1)",
        "runtime.gogc: expected an integer, got a boolean (line 2)",
        "scrape_configs[0].metric_name_validation_scheme: must be one of 'legacy', 'utf8', "
        "got 'UTF8' (line 5)",
        "scrape_configs[0].tls_config.min_version: must be one of 'TLS10', 'TLS11', 'TLS12', 'TLS13', "
        "got 'TLS14' (line 6)",
        "rule_files: expected a list, got a string (line 7)",
    ]


def test_a_key_warns_once_on_its_line_and_the_configuration_still_runs() -> None:
    loaded = parse_config("scrape_configs:\n  - job_name: a\n    extra_scrape_metrics: true\n")
    assert loaded.warnings == (
        ConfigWarning(
            "scrape_configs[0].extra_scrape_metrics",
            "has no effect here: scrape_timeout_seconds, scrape_sample_limit and scrape_body_size_bytes "
            "are not produced",
            3,
        ),
    )
    assert loaded.config.scrape_configs[0].job_name == "a"


def test_fragments_warn_once_each_in_their_own_terms() -> None:
    fragments = [
        ("/sp/jobs", "scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_failure_log_file: f\n"),
        ("/sp/base", "global: {query_log_file: q}\nrule_files: [r]\n"),
    ]
    loaded = parse_fragments(fragments, "SSM path /sp/")
    assert [(w.document, w.path, w.line) for w in loaded.warnings] == [
        ("/sp/base", "global.query_log_file", 1),
        ("/sp/base", "rule_files", 2),
        ("/sp/jobs", "scrape_configs[1].scrape_failure_log_file", 4),
    ]
    assert str(loaded.warnings[0]).startswith("/sp/base: global.query_log_file: has no effect here")
    assert merge_fragments(fragments, "SSM path /sp/").scrape_configs[1].job_name == "b"


def test_a_refused_key_stands_for_the_setting_so_checks_across_fields_wait() -> None:
    text = "scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: /t}\n"
    # Not also "set 'credentials' or 'credentials_ssm_parameter'": the file was meant for it.
    assert problems(text) == [
        "scrape_configs[0].authorization.credentials_file: not supported: the function reads no files: put "
        "the secret in an SSM SecureString parameter and name it in credentials_ssm_parameter (line 3)"
    ]


def test_a_near_miss_of_a_prometheus_key_gets_a_suggestion() -> None:
    assert problems("rule_file: [a]\nscrape_configs: [{job_name: a, target_limt: 3}]\n") == [
        "rule_file: unknown key; did you mean 'rule_files'? (line 1)",
        "scrape_configs[0].target_limt: unknown key; did you mean 'target_limit'? (line 2)",
    ]


def test_discoveries_without_a_plugin_warn_and_those_with_one_decode() -> None:
    text = (
        "scrape_configs:\n"
        "  - job_name: a\n"
        "    ec2_sd_configs: [{port: 9100}]\n"
        "    nomad_sd_configs: [{server: 'http://nomad:4646'}]\n"
    )
    loaded = parse_config(text)
    assert [w.path for w in loaded.warnings] == ["scrape_configs[0].nomad_sd_configs"]
    assert list(loaded.config.scrape_configs[0].discovery) == ["ec2_sd_configs"]


def test_a_rule_never_overrides_a_key_a_plugin_serves() -> None:
    # The rule for Prometheus's own section gives way as soon as a sink plugin serves the key
    # (the top-level otlp: becomes the OTLP sink's section when it registers).
    @dataclass(frozen=True)
    class Document:
        sinks: dict[str, tuple[Any, ...]] = field(default_factory=dict, metadata={"plugins": SINKS})

    rules = {Document: {"remote_write": NoEffect("Prometheus's meaning")}}
    found: list[ConfigWarning] = []
    document = decode(Document, {"remote_write": [{"url": "https://rw/api"}]}, rules=rules, warnings=found)
    assert found == [] and list(document.sinks) == ["remote_write"]


def _document_keys(cls: type) -> set[str]:
    keys = set()
    for f in dataclasses.fields(cls):
        if "plugins" in f.metadata:
            keys |= set(f.metadata["plugins"].served())
        else:
            keys.add(f.metadata.get("key", f.name))
    return keys


@pytest.mark.parametrize("cls", list(PROMETHEUS_KEYS), ids=lambda c: c.__name__)
def test_a_rule_stands_only_for_a_key_that_is_not_implemented(cls: type) -> None:
    implemented = _document_keys(cls)
    plugin_keys = {*SINKS.served(), *DISCOVERIES.served()}
    stale = set(PROMETHEUS_KEYS[cls]) & implemented - plugin_keys
    assert not stale, f"{cls.__name__} implements {sorted(stale)}: drop their rules"


def test_every_prometheus_discovery_is_known() -> None:
    rules = PROMETHEUS_KEYS[ScrapeConfig]
    assert {f"{name}_sd_configs" for name in SD_MECHANISMS} | {"file_sd_configs"} <= set(rules)
