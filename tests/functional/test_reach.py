"""Where redirects may lead, with real servers on 127.0.0.1 and 127.0.0.2.

Every address here is loopback, so to see a refusal the scraper is given a redirect policy
that classifies 127.0.0.2 as an ordinary address: a target there is "not on loopback", and its
redirect to 127.0.0.1 must be refused on the address the connection really reached (the same
code that refuses the Lambda runtime API or the metadata service in production). No traffic
ever leaves the loopback interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

from scrape_push.deadline import Deadline
from scrape_push.httpconfig import HTTPClientConfig, ProxyConfig
from scrape_push.reach import Reach, kind_of
from scrape_push.scrape import Scraper

from tests.support.context import build_context
from tests.support.http import Endpoint, Response, _handler, serve, serving
from tests.unit.scrape.test_series import target

ORDINARY = "127.0.0.2"


def pretend_ordinary(address: str) -> str | None:
    return None if address == ORDINARY else kind_of(address)


def policy(url: str) -> Reach:
    return Reach(url, classify=pretend_ordinary)


@contextmanager
def serve_on(host: str, response: Response) -> Iterator[Endpoint]:
    ref: list[Endpoint] = []
    server = ThreadingHTTPServer((host, 0), _handler(ref))
    server.daemon_threads = True
    ref.append(Endpoint(server, lambda _path: response))
    with serving(server):
        yield ref[0]


def redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location})


def scrape_one(scraper: Scraper, url: str, proxy: str | None = None) -> tuple[bool, str | None]:
    one = target(url=url, http=HTTPClientConfig(proxy=ProxyConfig(proxy)))
    (result,) = scraper.scrape_all([one], Deadline.after(10))
    return result.up, result.error


def test_a_target_on_loopback_may_redirect_to_loopback() -> None:
    with (
        serve(Response(b"moved_here 1\n")) as final,
        serve(redirect(f"http://{final.address}/metrics")) as start,
    ):
        assert scrape_one(Scraper(2, build_context().secrets, policy), f"http://{start.address}/metrics") == (
            True,
            None,
        )
        assert len(final.requests) == 1


def test_a_target_not_on_loopback_may_not_redirect_there() -> None:
    with serve(Response(b"secret_runtime_api 1\n")) as loopback:
        port = loopback.address.rsplit(":", 1)[1]
        for location in (f"http://{loopback.address}/metrics", f"http://localhost:{port}/metrics"):
            with serve_on(ORDINARY, redirect(location)) as start:
                up, error = scrape_one(
                    Scraper(2, build_context().secrets, policy), f"http://{start.address}/metrics"
                )
            assert up is False
            assert error is not None and error.startswith(f"redirect to {location} refused: ")
            assert "is a loopback address and the target is not" in error
        assert loopback.requests == []  # refused before a request was sent


def test_a_target_not_on_loopback_still_follows_ordinary_redirects() -> None:
    with (
        serve_on(ORDINARY, Response(b"ok 1\n")) as final,
        serve_on(ORDINARY, redirect(f"http://{ORDINARY}:{final.server.server_address[1]}/metrics")) as start,
    ):
        assert scrape_one(Scraper(2, build_context().secrets, policy), f"http://{start.address}/metrics") == (
            True,
            None,
        )


def test_through_a_proxy_the_redirect_host_is_resolved_and_checked() -> None:
    with serve(redirect("http://localhost:1/metrics")) as proxy:
        up, error = scrape_one(
            Scraper(2, build_context().secrets),
            "http://scraped.invalid:9100/metrics",
            f"http://{proxy.address}",
        )
        paths = [r["path"] for r in proxy.requests]
    assert up is False and error is not None
    assert error.startswith("redirect to http://localhost:1/metrics refused: ")
    assert paths == ["http://scraped.invalid:9100/metrics"]  # the redirect was never sent
