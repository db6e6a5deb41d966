"""What the transport writes and which targets it takes (no network)."""

from __future__ import annotations

import pytest
import requests
import requests.auth
from scrape_push.credentials import Secret
from scrape_push.httpconfig import (
    AuthorizationConfig,
    ClientAuth,
    HTTPClientConfig,
    OAuth2Config,
    ProxyConfig,
    TLSConfig,
    new_session,
)
from scrape_push.scrapehttp import Failure, ScrapeTransport
from scrape_push.scrapehttp.transport import request_head, route
from scrape_push.sigv4 import SigV4Config

from tests.support.context import build_context
from tests.unit.scrape.test_series import target


@pytest.mark.parametrize(
    ("url", "host", "start"),
    [
        (
            "http://h.example:9100/metrics",
            ("h.example", 9100),
            "GET /metrics HTTP/1.1\r\nHost: h.example:9100\r\n",
        ),
        (
            "http://h.example:80/m?a=1&b=%20",
            ("h.example", 80),
            "GET /m?a=1&b=%20 HTTP/1.1\r\nHost: h.example\r\n",
        ),
        ("http://H.Example.:8080", ("h.example.", 8080), "GET / HTTP/1.1\r\nHost: h.example:8080\r\n"),
        ("http://[::1]:9100/metrics", ("::1", 9100), "GET /metrics HTTP/1.1\r\nHost: [::1]:9100\r\n"),
    ],
)
def test_a_route_is_where_http_client_would_connect_and_the_host_it_would_name(
    url: str, host: tuple[str, int], start: str
) -> None:
    assert route(url) == (host, start)


def prepared(headers: dict[str, str]) -> requests.PreparedRequest:
    request = requests.PreparedRequest()
    request.prepare(method="GET", url="http://h:1/metrics", headers=headers)
    return request


def test_the_head_is_the_prepared_headers_in_their_order() -> None:
    head = request_head("GET / HTTP/1.1\r\nHost: h:1\r\n", prepared({"B": "2", "A": "1"}))
    assert head == b"GET / HTTP/1.1\r\nHost: h:1\r\nB: 2\r\nA: 1\r\n\r\n"


@pytest.mark.parametrize("value", ["x\r\nInjected: 1", "x\ny", "x\ry", "x\0y"])
def test_a_value_that_would_end_its_line_fails_without_showing_it(value: str) -> None:
    request = prepared({})
    request.headers["Authorization"] = f"Bearer {value}"  # as an auth hook sets it, unchecked
    with pytest.raises(Failure) as raised:
        request_head("GET / HTTP/1.1\r\nHost: h:1\r\n", request)
    assert str(raised.value) == "request failed: ValueError: a header value holds a line break or NUL"


@pytest.mark.parametrize(
    ("http", "url", "taken"),
    [
        (HTTPClientConfig(), "http://h:1/metrics", True),
        (HTTPClientConfig(), "https://h:1/metrics", False),
        (HTTPClientConfig(proxy=ProxyConfig(proxy_url="http://p:3128")), "http://h:1/metrics", False),
        (HTTPClientConfig(proxy=ProxyConfig(proxy_from_environment=True)), "http://h:1/metrics", False),
        (
            HTTPClientConfig(oauth2=OAuth2Config(client_id="c", token_url="http://t/token")),
            "http://h:1/metrics",
            False,
        ),
        (HTTPClientConfig(sigv4=SigV4Config(service_name="execute-api")), "http://h:1/metrics", False),
    ],
)
def test_only_a_plain_http_target_is_taken(http: HTTPClientConfig, url: str, taken: bool) -> None:
    auth = ClientAuth(http, build_context())
    transport = ScrapeTransport(hosts=4, per_host=1)
    assert transport.takes(target(url=url, http=http, auth=auth)) is taken
    assert transport.takes(target(url=url, http=http)) is taken  # no ClientAuth: decided from ``http``


def test_a_redirecting_url_is_remembered_within_the_bound() -> None:
    transport = ScrapeTransport(hosts=2, per_host=1)
    urls = [f"http://h:{port}/metrics" for port in (1, 2, 3)]
    transport._remember(urls[0])
    assert not transport.takes(target(url=urls[0]))
    transport._remember(urls[1])
    transport._remember(urls[2])  # past the bound: the oldest is forgotten (one extra GET later)
    assert [transport.takes(target(url=url)) for url in urls] == [True, False, False]


def test_the_session_prepares_what_the_transport_sends() -> None:
    session = new_session(TLSConfig(), 1, build_context().secrets)
    request = session.prepared_get("http://h:9/metrics", {"Accept": "text/plain"}, None)
    head = request_head(route(request.url or "").start, request).decode()
    assert head.startswith("GET /metrics HTTP/1.1\r\nHost: h:9\r\nUser-Agent: ")
    assert "Accept: text/plain\r\n" in head and head.endswith("Connection: keep-alive\r\n\r\n")


def test_a_request_the_job_adds_nothing_to_is_prepared_once_else_at_each_request() -> None:
    session = new_session(TLSConfig(), 1, build_context().secrets)
    prepared: list[str] = []

    def prepare(
        url: str, headers: dict[str, str], auth: requests.auth.AuthBase | None
    ) -> requests.PreparedRequest:
        prepared.append(url)
        return session.prepared_get(url, headers, auth)

    transport = ScrapeTransport(hosts=4, per_host=1)
    plain = HTTPClientConfig()
    bearer = HTTPClientConfig(authorization=AuthorizationConfig(credentials=Secret("tok")))
    for http in (plain, bearer):
        scraped = target(url="http://h:1/metrics", http=http, auth=ClientAuth(http, build_context()))
        heads = [transport._outgoing(scraped, {"Accept": "text/plain"}, prepare).head for _ in range(3)]
        assert heads[0] == heads[1] == heads[2]
    assert len(prepared) == 1 + 3
    assert b"Authorization: Bearer tok\r\n" in heads[0]
