"""remote_write configuration: Prometheus's format, defaults, and exact error messages."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config
from scrape_push.credentials import Secret

URL = "https://prom.example/api/v1/write"


def test_prometheus_entry_with_defaults() -> None:
    (rw,) = parse_config(f"remote_write:\n  - url: {URL}\n").config.sinks["remote_write"]
    assert rw.remote_timeout == 30.0
    assert rw.queue_config.max_samples_per_send == 2000
    assert (rw.queue_config.min_backoff, rw.queue_config.max_backoff) == (0.03, 5.0)
    assert rw.metadata_config.send is True
    assert rw.display_name == "prom.example/api/v1/write"


def test_full_entry_pasted_from_prometheus_yml() -> None:
    text = f"""
remote_write:
  - url: {URL}
    name: mimir
    remote_timeout: 10s
    headers: {{X-Scope-OrgID: team-a}}
    basic_auth: {{username: u, password: s3cret}}
    tls_config: {{insecure_skip_verify: true}}
    queue_config: {{capacity: 2500, max_shards: 50, max_samples_per_send: 1000, min_backoff: 50ms,
                   max_backoff: 2s, batch_send_deadline: 5s}}
    metadata_config: {{send: false, send_interval: 1m}}
"""
    (rw,) = parse_config(text).config.sinks["remote_write"]
    assert rw.name == "mimir" and rw.remote_timeout == 10.0
    assert rw.basic_auth is not None and rw.basic_auth.password == Secret("s3cret")
    assert "s3cret" not in repr(rw) and "s3cret" not in str(rw)
    assert rw.queue_config.max_samples_per_send == 1000 and rw.queue_config.min_backoff == 0.05
    assert rw.metadata_config.send is False


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("url: ftp://x/", "remote_write[0].url: must be an http:// or https:// URL with a host"),
        ("url: https://u:p@x/", "remote_write[0].url: must not hold credentials; use basic_auth or authorization"),  # noqa: E501
        (f"url: {URL}\n    write_relabel_configs: [{{action: hashmod, target_label: x}}]", "remote_write[0].write_relabel_configs[0].modulus: relabel configuration for hashmod requires non-zero modulus"),  # noqa: E501
        (f"url: {URL}\n    queue_config: {{max_samples_per_send: 0}}", "remote_write[0].queue_config.max_samples_per_send: must be at least 1"),  # noqa: E501
        (f"url: {URL}\n    queue_config: {{max_samples_per_send: lots}}", "remote_write[0].queue_config.max_samples_per_send: expected an integer, got a string"),  # noqa: E501
        (f"url: {URL}\n    headers: {{Content-Type: text/plain}}", "remote_write[0].headers.Content-Type: Content-Type is set by the sink"),  # noqa: E501
        (f"url: {URL}\n    basic_auth: {{username: u}}", "remote_write[0].basic_auth.password: set 'password' or 'password_ssm_parameter'"),  # noqa: E501
        (f"url: {URL}\n    basic_auth: {{username: u, password: a, password_ssm_parameter: /p}}", "remote_write[0].basic_auth.password: set either"),  # noqa: E501
        (f"url: {URL}\n    authorization: {{credentials: t}}\n    sigv4: {{}}", "remote_write[0]: at most one of basic_auth, authorization and sigv4"),  # noqa: E501
        (f"url: {URL}\n    sigv4: {{role_arn: writer}}", "remote_write[0].sigv4.role_arn: expected an IAM role ARN"),  # noqa: E501
        (f"url: {URL}\n    send_exemplars: true", "remote_write[0].send_exemplars: unknown key"),
    ],
    ids=["scheme", "userinfo", "relabel", "batch-size", "batch-type", "reserved-header", "no-password",
         "both-passwords", "two-auths", "role-arn", "unknown-key"],
)  # fmt: skip
def test_invalid_entries_name_the_key(entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"remote_write:\n  - {entry}\n")
    assert message in str(info.value)
    assert "s3cret" not in str(info.value)


def test_sink_names_are_unique_across_kinds() -> None:
    text = f"cloudwatch:\n  - namespace: App\n    name: main\nremote_write:\n  - url: {URL}\n    name: main\n"
    with pytest.raises(ConfigError, match=r"remote_write\[0\]\.name: duplicate sink name .main."):
        parse_config(text)
