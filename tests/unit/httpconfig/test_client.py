"""What a configuration adds to each request: headers (added to those the client sets), the
proxy a URL takes (Go's httpproxy rules for no_proxy and the environment), CONNECT headers."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from scrape_push.credentials import Secret
from scrape_push.httpconfig import ClientAuth, HeaderValues, HTTPClientConfig, ProxyConfig
from scrape_push.httpconfig.client import MAX_HEADER_FILE_BYTES, HeaderError, ProxyEnvironment, bypasses
from scrape_push.settings import Settings

from tests.support.context import build_context


@pytest.mark.parametrize(
    ("url", "no_proxy", "direct"),
    [
        ("http://localhost:9100/", "", True),  # loopback never goes through a proxy
        ("http://127.0.0.1:9100/", "", True),
        ("http://[::1]:9100/", "", True),
        ("http://metrics.shop.internal/", "*", True),
        ("http://metrics.shop.internal/", ".internal", True),
        ("http://internal/", ".internal", False),  # a leading dot: subdomains only
        ("http://shop.internal/", "shop.internal", True),  # no dot: the domain and its subdomains
        ("http://a.shop.internal/", "shop.internal", True),
        ("http://notshop.internal/", "shop.internal", False),
        ("http://a.shop.internal/", "*.shop.internal", True),
        ("http://shop.internal:9100/", "shop.internal:9100", True),
        ("http://shop.internal:9200/", "shop.internal:9100", False),
        ("https://shop.internal/", "shop.internal:443", True),  # the scheme's port when none
        ("http://10.1.2.3:9100/", "10.0.0.0/8", True),
        ("http://11.1.2.3:9100/", "10.0.0.0/8", False),
        ("http://10.1.2.3:9100/", "10.1.2.3", True),
        ("http://10.1.2.3:9100/", "10.1.2.3:9100", True),
        ("http://10.1.2.3:9100/", "10.1.2.3:80", False),
        ("http://[2001:db8::1]:9100/", "[2001:db8::1]:9100", True),
        ("http://[2001:db8::1]:9100/", "2001:db8::/32", True),
        ("http://SHOP.Internal/", " other.org , Shop.INTERNAL ", True),
        ("http://shop.internal/", "10.0.0.0/8,,  ,", False),
    ],
)
def test_no_proxy_matches_as_gos_httpproxy(url: str, no_proxy: str, direct: bool) -> None:
    assert bypasses(url, no_proxy) is direct


def test_the_environment_gives_each_scheme_its_own_proxy() -> None:
    env = ProxyEnvironment("proxy:3128", "https://secure-proxy:3129", "skip.example")
    assert env.proxies("http://a.example/") == {"http": "http://proxy:3128"}
    assert env.proxies("https://a.example/") == {"https": "https://secure-proxy:3129"}
    assert env.proxies("http://skip.example/") is None
    assert ProxyEnvironment(https_proxy="http://p:1").proxies("http://a.example/") is None


def test_settings_read_the_proxy_variables_upper_case_first() -> None:
    settings = Settings.from_environment(
        {"HTTP_PROXY": "http://up:1", "http_proxy": "http://low:1", "no_proxy": ".x"}
    )
    assert (settings.http_proxy, settings.https_proxy, settings.no_proxy) == ("http://up:1", None, ".x")


def auth(http: HTTPClientConfig) -> ClientAuth:
    return ClientAuth(http, build_context())


def prepared(client: ClientAuth, headers: dict[str, str] | None = None) -> requests.PreparedRequest:
    return requests.Request("GET", "http://t.example/metrics", headers=headers, auth=client).prepare()


def test_header_values_are_added_to_those_the_request_has(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("  from-file \n")
    http = HTTPClientConfig(
        http_headers={
            "Accept": HeaderValues(("application/json",)),
            "X-Key": HeaderValues(("a",), (Secret("b"),), files=(str(token),)),
            "X-None": HeaderValues(),
        }
    )
    client = auth(http)
    request = prepared(client, {"Accept": "text/plain"})
    assert request.headers["Accept"] == "text/plain, application/json"
    assert request.headers["X-Key"] == "a, b, from-file"
    assert "X-None" not in request.headers
    assert client.secrets.scrubber.scrub("from-file") == "********"  # a file's value is a secret too


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"line\r\nX-Injected: 1", "a value holds a line break or NUL"),
        (b"x" * (MAX_HEADER_FILE_BYTES + 1), f"holds more than {MAX_HEADER_FILE_BYTES} bytes"),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_an_unusable_header_file_fails_the_request_naming_the_header(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "value"
    path.write_bytes(content)
    client = auth(HTTPClientConfig(http_headers={"X-Token": HeaderValues(files=(str(path),))}))
    with pytest.raises(HeaderError) as info:
        prepared(client)
    assert str(info.value).startswith("http_headers X-Token: ") and reason in str(info.value)


def test_a_missing_header_file_is_named() -> None:
    client = auth(HTTPClientConfig(http_headers={"X-Token": HeaderValues(files=("/nonexistent/token",))}))
    with pytest.raises(
        HeaderError, match="http_headers X-Token: cannot read /nonexistent/token: No such file"
    ):
        prepared(client)


def test_the_proxy_a_url_takes() -> None:
    proxied = auth(HTTPClientConfig(proxy=ProxyConfig("http://p:3128", "skip.example")))
    assert proxied.proxies("http://a.example/") == {"http": "http://p:3128", "https": "http://p:3128"}
    assert proxied.proxies("http://skip.example/") is None
    assert auth(HTTPClientConfig(proxy=ProxyConfig("http://p:3128"))).proxies("http://localhost/") == {
        "http": "http://p:3128",
        "https": "http://p:3128",
    }  # without no_proxy, as Prometheus: every URL through the proxy
    assert auth(HTTPClientConfig()).proxies("http://a.example/") is None


def test_connect_headers_join_their_values() -> None:
    proxy = ProxyConfig("http://p:1", proxy_connect_header={"X-T": (Secret("a"), Secret("b"))})
    assert auth(HTTPClientConfig(proxy=proxy)).connect_headers() == {"X-T": "a, b"}
