"""The ``otlp`` section: what it accepts, what it refuses (with key path and line), its defaults."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.source import parse_config

from tests.support.otlp import otlp_config


def problems(entries: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"scrape_configs: []\notlp:\n{entries}")
    return [str(p) for p in caught.value.problems]


def test_an_endpoint_alone_is_a_sink_with_the_defaults() -> None:
    config = otlp_config("{endpoint: 'http://collector:4318/v1/metrics'}")
    assert config.name == "collector:4318/v1/metrics"
    assert (config.compression, config.timeout, config.max_data_points_per_request) == ("gzip", 10.0, 1000)
    assert config.max_request_size == 4 * 1024 * 1024
    assert config.backlog.max_age == 3600


def test_the_cloudwatch_preset_takes_the_regions_endpoint_signing_and_limits() -> None:
    config = otlp_config("{cloudwatch: {region: eu-west-1}}")
    assert config.cloudwatch is not None
    assert config.cloudwatch.endpoint(None) == "https://monitoring.eu-west-1.amazonaws.com/v1/metrics"
    assert config.cloudwatch.sigv4.service_name == "monitoring"
    assert config.cloudwatch.sigv4.region == "eu-west-1"
    assert (config.name, config.max_request_size, config.max_data_points_per_request) == (
        "cloudwatch-eu-west-1",
        1_000_000,
        1000,
    )
    default = otlp_config("{cloudwatch: {}}")
    assert default.name == "cloudwatch"
    assert default.cloudwatch is not None and default.cloudwatch.endpoint("us-east-2") == (
        "https://monitoring.us-east-2.amazonaws.com/v1/metrics"
    )


def test_cloudwatch_limits_cannot_be_raised() -> None:
    found = problems(
        "  - {cloudwatch: {}, max_data_points_per_request: 1001}\n"
        "  - {cloudwatch: {region: us-west-2}, max_request_size: 2MB}\n"
    )
    assert found == [
        "otlp[0].max_data_points_per_request: must be at least 1 and at most 1000, "
        "CloudWatch's limit (line 3)",
        "otlp[1].max_request_size: must be at most 1,000,000 bytes, CloudWatch's limit (line 4)",
    ]


def test_a_receiver_needs_an_endpoint_and_one_way_to_authenticate() -> None:
    found = problems(
        "  - {name: x}\n"
        "  - {endpoint: 'ftp://x/v1/metrics'}\n"
        "  - {endpoint: 'https://u:p@x/v1/metrics'}\n"
        "  - endpoint: https://x/v1/metrics\n"
        "    basic_auth: {username: u, password: p}\n"
        "    authorization: {credentials: t}\n"
        "  - {cloudwatch: {}, authorization: {credentials: t}}\n"
        "  - {cloudwatch: {region: mars}}\n"
    )
    assert found == [
        "otlp[0].endpoint: set 'endpoint' (the receiver's full URL) or 'cloudwatch' (line 3)",
        "otlp[1].endpoint: must be an http:// or https:// URL with a host (line 4)",
        "otlp[2].endpoint: must not hold credentials; use basic_auth or authorization (line 5)",
        "otlp[3]: at most one of basic_auth, authorization and sigv4 may be set, got "
        "['basic_auth', 'authorization'] (line 6)",
        "otlp[4].authorization: cloudwatch signs with SigV4 itself (region and role_arn go under "
        "cloudwatch); remove authorization (line 9)",
        "otlp[5].cloudwatch.region: not an AWS region: 'mars' (line 10)",
    ]


def test_headers_the_sink_sets_cannot_be_configured() -> None:
    found = problems(
        "  - endpoint: https://x/v1/metrics\n"
        "    headers: {Content-Encoding: br, 'bad name': v, X-Ok: \"a\\nb\"}\n"
    )
    assert found == [
        "otlp[0].headers.Content-Encoding: Content-Encoding is set by the sink and cannot be "
        "configured (line 4)"
    ]
    found = problems("  - endpoint: https://x/v1/metrics\n    headers: {'bad name': v}\n")
    assert found == ["otlp[0].headers.bad name: invalid header name 'bad name' (line 4)"]
    found = problems('  - endpoint: https://x/v1/metrics\n    headers: {X-Ok: "a\\nb"}\n')
    assert found == ["otlp[0].headers.X-Ok: a header value cannot hold a line break (line 4)"]


def test_sink_names_are_unique_across_kinds() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "scrape_configs: []\n"
            "otlp: [{cloudwatch: {}}]\n"
            "remote_write: [{url: 'https://rw/api/v1/write', name: cloudwatch}]\n"
        )
    assert "cloudwatch" in str(caught.value)


def test_a_near_miss_of_the_section_is_suggested() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("scrape_configs: []\notpl: [{endpoint: 'https://x/v1/metrics'}]\n")
    assert "otpl: unknown key; did you mean 'otlp'?" in str(caught.value)


def test_staleness_is_flag_for_a_receiver_and_drop_with_cloudwatch_unless_set() -> None:
    assert otlp_config("{endpoint: 'http://collector:4318/v1/metrics'}").staleness == "flag"
    assert otlp_config("{cloudwatch: {}}").staleness == "drop"
    assert otlp_config("{cloudwatch: {}, staleness: flag}").staleness == "flag"
    assert otlp_config("{endpoint: 'http://c:4318/v1/metrics', staleness: drop}").staleness == "drop"
    (found,) = problems("  - {endpoint: 'http://c:4318/v1/metrics', staleness: keep}\n")
    assert found.startswith("otlp[0].staleness: ") and "'flag'" in found and "(line 3)" in found
