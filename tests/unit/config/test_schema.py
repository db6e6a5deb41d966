"""`scrape-push show` and `scrape-push schema` print the values the function really uses."""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml
from scrape_push.config.model import Config
from scrape_push.config.schema import _encode, effective, json_schema
from scrape_push.config.source import parse_config
from scrape_push.config.values import format_duration, format_size
from scrape_push.sinks import build_sinks
from scrape_push.targets import build_targets

from tests.support.context import build_context, discoveries

# One of every object of the configuration, each with only the keys it needs to be valid.
MINIMAL: dict[str, Any] = {
    "global": {},
    "scrape_configs": [
        {
            "job_name": "node",
            "basic_auth": {"username": "scraper", "password_ssm_parameter": "/scrape-push/secrets/node"},
            "tls_config": {},
            "static_configs": [{"targets": ["10.0.0.1:9100"]}],
            "ec2_sd_configs": [{"filters": [{"name": "tag:Role", "values": ["node"]}]}],
            "relabel_configs": [{"target_label": "team"}],
        },
        {
            "job_name": "api",
            "authorization": {"credentials_ssm_parameter": "/scrape-push/secrets/api"},
            "static_configs": [{"targets": ["10.0.0.2:8080"]}],
            "http_sd_configs": [{"url": "https://sd.internal/targets"}],
            "cloudmap_sd_configs": [{"namespace": "shop.local"}],
        },
        {
            "job_name": "tasks",
            "oauth2": {
                "client_id": "scraper",
                "client_secret_ssm_parameter": "/scrape-push/secrets/oauth",
                "token_url": "https://auth.internal/token",
            },
            "http_headers": {"X-Tenant": {"values": ["payments"]}},
            "aws_sd_configs": [{"role": "ecs"}],
            "lightsail_sd_configs": [{}],
        },
        {
            "job_name": "signed",
            "sigv4": {"service_name": "execute-api"},
            "static_configs": [{"targets": ["abc123.execute-api.eu-west-1.amazonaws.com:443"]}],
        },
    ],
    "cloudwatch": [{"namespace": "Team/App", "metrics": [{"match": "http_.*"}], "backlog": {}}],
    "graphite": [{"address": "carbon.internal"}],
    "remote_write": [
        {
            "url": "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
            "sigv4": {},
            "queue_config": {},
            "metadata_config": {},
        }
    ],
    "otlp": [
        {"endpoint": "https://collector.internal:4318/v1/metrics", "tls_config": {}},
        {"cloudwatch": {"region": "eu-west-1"}},
    ],
    "runtime": {},
}


def loaded() -> Config:
    return parse_config(yaml.safe_dump(MINIMAL)).config


def _keys(obj: Any) -> list[tuple[str, Any, dataclasses.Field[Any]]]:
    """Each document key of a config object, its value and its field (a plugin field gives one
    key per plugin, holding that plugin's entries)."""
    found = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if "plugins" in f.metadata:
            found += [(p.key, value.get(p.key, ()), f) for p in f.metadata["plugins"].all()]
        elif f.metadata.get("inline"):  # its keys are the object's own
            found += _keys(value)
        else:
            found.append((f.metadata.get("key", f.name), value, f))
    return found


def _objects(obj: Any, raw: Any) -> list[tuple[Any, dict[str, Any]]]:
    """Every config object reachable from ``obj``, with the document mapping it came from."""
    found = [(obj, raw if isinstance(raw, dict) else {})]
    for key, value, _ in _keys(obj):
        raw_value = (raw or {}).get(key)
        if dataclasses.is_dataclass(value):
            found += _objects(value, raw_value)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            for item, raw_item in zip(value, raw_value or [{}] * len(value), strict=True):
                found += _objects(item, raw_item)
        elif isinstance(value, dict) and value and dataclasses.is_dataclass(next(iter(value.values()))):
            for name, item in value.items():
                found += _objects(item, (raw_value or {}).get(name))
    return found


def test_every_default_the_schema_shows_is_what_the_decoder_uses() -> None:
    schema = json_schema()
    visited = set()
    for obj, raw in _objects(loaded(), MINIMAL):
        name = type(obj).__name__
        visited.add(name)
        definition = schema if name == "Config" else schema["$defs"][name]
        for key, value, f in _keys(obj):
            prop = definition["properties"][key]
            if key in raw:
                continue
            if "default" in prop:
                assert _encode(value, f.metadata.get("parse")) == prop["default"], f"{name}.{key}"
            if "derived" in f.metadata:  # computed at load: never left empty
                assert value not in (None, ""), f"{name}.{key}"
                assert "default: " in prop["description"], f"{name}.{key}"
    assert visited == {"Config", *schema["$defs"]}, "MINIMAL must hold one of every object"


def test_the_scrape_defaults_shown_are_the_ones_targets_are_built_with() -> None:
    config = parse_config("scrape_configs: [{job_name: a, static_configs: [{targets: [h:1]}]}]").config
    glob = json_schema()["$defs"]["GlobalConfig"]["properties"]
    job = json_schema()["$defs"]["ScrapeConfig"]["properties"]
    target = build_targets(config, None, discoveries()).targets[0]
    assert format_duration(target.interval) == glob["scrape_interval"]["default"] == "1m"
    assert format_duration(target.timeout) == "10s"
    assert format_size(target.body_size_limit) == "64MB"
    assert "default: global.body_size_limit, else 64MB" in job["body_size_limit"]["description"]
    shown = effective(config)["scrape_configs"][0]
    assert (shown["scrape_interval"], shown["scrape_timeout"], shown["body_size_limit"]) == (
        "1m",
        "10s",
        "64MB",
    )


def test_each_sinks_backlog_window_shown_is_the_one_its_kind_keeps() -> None:
    config = loaded()
    for kind, backlog in build_sinks(config, build_context()):
        assert backlog.max_age == kind.default_max_age, kind.name


def test_show_prints_effective_values_and_leaves_out_limits_that_are_off() -> None:
    shown = effective(loaded())
    job = shown["scrape_configs"][0]
    assert "sample_limit" not in job and "label_limit" not in job
    assert shown["cloudwatch"][0]["name"] == "Team/App"
    assert shown["cloudwatch"][0]["backlog"]["max_age"] == "1w6d"
    assert shown["graphite"][0]["name"] == "carbon.internal"
    assert shown["graphite"][0]["template"] == "{__name__}"
    assert shown["graphite"][0]["backlog"]["max_age"] == "1d"
    assert (
        shown["remote_write"][0]["name"]
        == "aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
    )
    assert shown["global"] == {
        "scrape_interval": "1m",
        "scrape_timeout": "10s",
        "external_labels": {},
        "scrape_protocols": [
            "OpenMetricsText1.0.0",
            "OpenMetricsText0.0.1",
            "PrometheusText1.0.0",
            "PrometheusText0.0.4",
        ],
        "metric_name_validation_scheme": "utf8",
        "metric_name_escaping_scheme": "allow-utf-8",
        "scrape_native_histograms": False,
        "always_scrape_classic_histograms": False,
    }


def test_what_show_prints_is_a_configuration_that_means_the_same() -> None:
    config = loaded()
    again = parse_config(yaml.safe_dump(effective(config), sort_keys=False)).config
    assert again == config


def test_a_short_global_interval_caps_the_default_timeout() -> None:
    config = parse_config("global: {scrape_interval: 5s}\ncloudwatch: [{namespace: N}]\n").config
    assert effective(config)["global"]["scrape_timeout"] == "5s"


NONE_AS_A_VALUE = {
    ("RelabelConfig", "target_label"),
    ("RelabelConfig", "modulus"),
    ("GraphiteConfig", "prefix"),
}
"""Defaults that are empty because the function uses them empty (no target label, no prefix)."""


def test_the_schema_shows_no_placeholder_as_a_default() -> None:
    schema = json_schema()
    for name, definition in {"Config": schema, **schema["$defs"]}.items():
        for key, prop in definition["properties"].items():
            default = prop.get("default")
            empty = default in ("", "0B") or (type(default) is int and default == 0)
            assert not empty or (name, key) in NONE_AS_A_VALUE, f"{name}.{key}: a placeholder, not a value"
    glob = schema["$defs"]["GlobalConfig"]["properties"]
    assert (glob["scrape_interval"]["default"], glob["scrape_timeout"].get("default")) == ("1m", None)
    assert "default: 10s" in glob["scrape_timeout"]["description"]
    job = schema["$defs"]["ScrapeConfig"]["properties"]
    assert "default: global.scrape_interval" in job["scrape_interval"]["description"]
    assert "default: 0 (no limit)" in glob["sample_limit"]["description"]
    assert "default: 0 (the global limit; none when that is 0 too)" in job["sample_limit"]["description"]
