"""The <http_config> keys of a job (and of an HTTP SD entry): decoded inline, validated as
Prometheus validates them, every problem named by its key path."""

from __future__ import annotations

import pytest
from scrape_push.config.errors import ConfigError
from scrape_push.config.schema import effective
from scrape_push.config.source import parse_config
from scrape_push.credentials import Secret
from scrape_push.httpconfig import HeaderValues, OAuth2Config, ProxyConfig

JOB = "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: ['h:1']}]\n"
SINK = "cloudwatch: [{namespace: N}]\n"


def job(keys: str) -> str:
    return JOB + "".join(f"    {line}\n" for line in keys.strip().splitlines()) + SINK


def problems(keys: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(job(keys))
    return [str(p) for p in info.value.problems]


def test_every_key_is_decoded_inline_in_the_job() -> None:
    config = parse_config(
        job(
            """
oauth2:
  client_id: scraper
  client_secret: s3cret
  token_url: https://auth.example/token
  scopes: [a, b]
  endpoint_params: {audience: x}
  proxy_url: http://proxy:3128
http_headers:
  X-Tenant: {values: [a], secrets: [hidden], secrets_ssm_parameters: [/p], files: [/opt/t]}
proxy_url: http://proxy:3128
no_proxy: .internal,10.0.0.0/8
proxy_connect_header: {X-Proxy-Token: [t1, t2]}
enable_http2: false
follow_redirects: false
"""
        )
    ).config
    http = config.scrape_configs[0].http
    assert http.oauth2 == OAuth2Config(
        "scraper",
        "https://auth.example/token",
        client_secret=Secret("s3cret"),
        scopes=("a", "b"),
        endpoint_params={"audience": "x"},
        proxy=ProxyConfig("http://proxy:3128"),
    )
    assert http.http_headers == {"X-Tenant": HeaderValues(("a",), (Secret("hidden"),), ("/p",), ("/opt/t",))}
    assert http.proxy == ProxyConfig(
        "http://proxy:3128", ".internal,10.0.0.0/8", False, {"X-Proxy-Token": (Secret("t1"), Secret("t2"))}
    )
    assert (http.enable_http2, http.follow_redirects, http.proxy_url) == (False, False, "http://proxy:3128")


def test_show_masks_every_secret_and_keeps_the_keys_inline() -> None:
    shown = effective(
        parse_config(
            job(
                """
oauth2: {client_id: c, client_secret: s3cret, token_url: 'https://a/t'}
http_headers: {X-Key: {secrets: [hidden]}}
proxy_url: http://proxy:3128
proxy_connect_header: {X-Proxy-Token: [t1]}
"""
            )
        ).config
    )["scrape_configs"][0]
    assert shown["oauth2"]["client_secret"] == "********"
    assert shown["http_headers"]["X-Key"]["secrets"] == ["********"]
    assert shown["proxy_connect_header"] == {"X-Proxy-Token": ["********"]}
    assert shown["proxy_url"] == "http://proxy:3128" and "http" not in shown
    assert "s3cret" not in repr(shown) and "hidden" not in repr(shown)


INVALID = [
    (
        "basic_auth: {username: u, password: p}\nauthorization: {credentials: c}",
        "scrape_configs[0]: at most one of basic_auth, authorization, bearer_token, oauth2 and sigv4 "
        "may be set, got ['basic_auth', 'authorization']",
    ),
    (
        "sigv4: {region: eu-west-1}",
        "scrape_configs[0].sigv4.service_name: required when signing scrapes: the service the endpoint "
        "belongs to (execute-api, lambda, vpc-lattice-svcs ...)",
    ),
    (
        "sigv4: {service_name: execute-api, external_id: abc}",
        "scrape_configs[0].sigv4.external_id: external_id can only be used with role_arn",
    ),
    (
        "http_headers: {Authorization: {values: [x]}}",
        "scrape_configs[0].http_headers.Authorization: setting header 'Authorization' is not allowed",
    ),
    (
        "http_headers: {X-Amz-Date: {values: [x]}}",
        "scrape_configs[0].http_headers[\"X-Amz-Date\"]: setting header 'X-Amz-Date' is not allowed",
    ),
    (
        "http_headers: {'bad name': {values: [x]}}",
        "scrape_configs[0].http_headers[\"bad name\"]: invalid header name 'bad name'",
    ),
    (
        "no_proxy: .internal",
        "scrape_configs[0].no_proxy: if no_proxy is configured, proxy_url must also be configured",
    ),
    (
        "proxy_from_environment: true\nproxy_url: http://p:1",
        "scrape_configs[0].proxy_url: if proxy_from_environment is configured, proxy_url must not be",
    ),
    (
        "proxy_connect_header: {X-T: [a]}",
        "scrape_configs[0].proxy_connect_header: if proxy_connect_header is configured, proxy_url or "
        "proxy_from_environment must also be",
    ),
    (
        "oauth2: {client_id: c, token_url: 'https://a/t'}",
        "scrape_configs[0].oauth2.client_secret: set 'client_secret' or 'client_secret_ssm_parameter'",
    ),
    (
        "oauth2: {client_id: c, client_secret: s, token_url: 'https://a/t',"
        " grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer'}",
        "scrape_configs[0].oauth2.grant_type: only 'client_credentials' is supported, got "
        "'urn:ietf:params:oauth:grant-type:jwt-bearer'",
    ),
    (
        "oauth2: {client_id: c, client_secret: s, token_url: 'https://u:p@a/t'}",
        "scrape_configs[0].oauth2.token_url: must not hold credentials (user:password@)",
    ),
    (
        "oauth2: {client_id: c, client_secret: s, token_url: 'https://a/t', endpoint_params: {scope: x}}",
        "scrape_configs[0].oauth2.endpoint_params.scope: cannot overwrite parameter 'scope': use scopes",
    ),
    ("enable_http3: true", "scrape_configs[0].enable_http3: unknown key; did you mean 'enable_http2'?"),
]


@pytest.mark.parametrize(("keys", "expected"), INVALID)
def test_invalid_keys_are_named_with_their_path(keys: str, expected: str) -> None:
    assert [p.split(" (line")[0] for p in problems(keys)] == [expected]


def test_a_secret_is_never_quoted_in_a_problem() -> None:
    found = problems(
        "proxy_connect_header: {X-T: [connect-secret-1]}\nhttp_headers: {Host: {secrets: [header-secret-2]}}"
    )
    assert len(found) == 2
    assert not any("connect-secret-1" in p or "header-secret-2" in p for p in found)
