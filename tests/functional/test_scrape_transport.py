"""A plain http target's GET on the scrape stage's own transport (``scrapehttp``), against real
endpoints on 127.0.0.1: the same request on the wire and the same errors as the requests path,
keep-alive counted at the server, a connection closed whenever it cannot carry the next request,
a stale kept connection sent again once, a blocked read cut by the guard, redirects handed to
requests."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from scrape_push.budget import MemoryBudget
from scrape_push.credentials import Secret
from scrape_push.fetch import ScrapeError, fetch
from scrape_push.guard import Guard, guarding
from scrape_push.httpconfig import (
    AuthorizationConfig,
    BasicAuthConfig,
    ClientAuth,
    HeaderValues,
    HTTPClientConfig,
)
from scrape_push.reach import Reach
from scrape_push.scrape import Scraper
from scrape_push.targets import Target

from tests.functional.conftest import Emulated
from tests.functional.test_handler import config, job
from tests.support.context import build_context
from tests.support.http import Response, refused_address, serve
from tests.support.scripted import Reply, Script, always, http_response, scripted

TIMEOUT = 5.0


@dataclass
class Scrapes:
    """GETs of targets as the scrape stage makes them, on its transport or through requests."""

    scraper: Scraper = field(default_factory=lambda: Scraper(2, build_context().secrets))
    guards: list[Guard] = field(default_factory=list)

    def target(self, url: str, *, limit: int = 64 * 1024 * 1024, **http: Any) -> Target:
        config = HTTPClientConfig(**http)
        return Target(
            job="j",
            url=url,
            labels=(),
            external_labels=(),
            timeout=TIMEOUT,
            interval=60.0,
            honor_labels=False,
            honor_timestamps=True,
            body_size_limit=limit,
            http=config,
            auth=ClientAuth(config, build_context()),
        )

    def get(self, target: Target, *, direct: bool = True, guard: Guard | None = None) -> bytes | str:
        """The body, or the scrape's error."""
        guard = guard or Guard(time.monotonic() + TIMEOUT, Reach(target.url), proxied=False)
        self.guards.append(guard)
        account = MemoryBudget.plan(None, 1, 1).scrape_account()
        session = self.scraper.session_for(target.http.tls_config)
        transport = self.scraper.transport if direct else None
        try:
            with guarding(guard):
                return fetch(
                    session,
                    target,
                    guard,
                    account,
                    timeout=TIMEOUT,
                    secrets=self.scraper.secrets,
                    transport=transport,
                ).body
        except ScrapeError as exc:
            return str(exc)
        finally:
            account.release()


@pytest.fixture
def scrapes() -> Iterator[Scrapes]:
    made = Scrapes()
    yield made
    made.scraper.close()


def keep_alive(body: bytes = b"a 1\n", *headers: str) -> Reply:
    return Reply(http_response(body, headers=("Content-Type: text/plain", *headers)))


def test_the_request_on_the_wire_is_the_requests_path_s(scrapes: Scrapes) -> None:
    auths: list[dict[str, Any]] = [
        {},
        {"basic_auth": BasicAuthConfig("scraper", Secret("pa55"))},
        {"authorization": AuthorizationConfig(credentials=Secret("tok"))},
        {"http_headers": {"X-Team": HeaderValues(("a", "b")), "accept": HeaderValues(("x/y",))}},
    ]
    with scripted(always(keep_alive())) as endpoint:
        for auth in auths:
            target = scrapes.target(endpoint.url + "?collect[]=cpu", **auth)
            assert scrapes.get(target, direct=False) == scrapes.get(target) == b"a 1\n"
    through_requests, direct = endpoint.heads[0::2], endpoint.heads[1::2]
    assert direct == through_requests  # byte for byte: every header, its value and its place
    assert b"Authorization: Basic c2NyYXBlcjpwYTU1\r\n" in direct[1]
    assert b"Authorization: Bearer tok\r\n" in direct[2]
    assert b"X-Team: a, b\r\n" in direct[3]


FAULTS: dict[str, bytes] = {
    "status": http_response(status="404 Not Found"),
    "status without reason": http_response(status="500"),
    "closed unanswered": b"",
    "garbage status line": b"HELLO\r\n\r\n",
    "unknown protocol": b"HTTP/2.0 200 OK\r\nContent-Length: 4\r\n\r\na 1\n",
    "status line too long": b"HTTP/1.1 200 " + b"O" * 70000 + b"\r\n\r\n",
    "header line too long": b"HTTP/1.1 200 OK\r\nX-A: "
    + b"a" * 70000
    + b"\r\nContent-Length: 4\r\n\r\na 1\n",
    "too many headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
    "body cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na 1\n",
    "conflicting lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\na 1\n",
    "gzip cut short": http_response(gzip.compress(b"a 1\n" * 100)[:10], headers=("Content-Encoding: gzip",)),
    "not gzip": http_response(b"not gzip", headers=("Content-Encoding: gzip",)),
    "empty gzip": http_response(b"", headers=("Content-Encoding: gzip",)),
    "not modified": b"HTTP/1.1 304 Not Modified\r\n\r\n",
    "body over the limit": http_response(b"a 1\n" * 100),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_is_the_same_error_on_either_path(scrapes: Scrapes, fault: str) -> None:
    with scripted(always(Reply(FAULTS[fault], close=True))) as endpoint:
        target = scrapes.target(endpoint.url, limit=100)
        through_requests, direct = scrapes.get(target, direct=False), scrapes.get(target)
    assert isinstance(direct, str) and " ".join(direct.split()) == " ".join(str(through_requests).split())


@pytest.mark.parametrize("fault", ["gzip cut short", "not gzip", "empty gzip"])
def test_a_body_that_is_not_whole_gzip_fails_the_scrape(scrapes: Scrapes, fault: str) -> None:
    """As Prometheus's: Go's gzip reader fails on a missing header (an empty body too), a
    broken stream or one cut short."""
    with scripted(always(Reply(FAULTS[fault], close=True))) as endpoint:
        assert scrapes.get(scrapes.target(endpoint.url)) == "response body could not be decompressed"


@pytest.mark.parametrize("encoding", ["x-gzip", "GZIP", "gzip, identity"])
def test_only_an_exact_gzip_encoding_is_inflated(scrapes: Scrapes, encoding: str) -> None:
    """Prometheus inflates a body whose ``Content-Encoding`` is "gzip" as sent, no other: it
    parses the rest as they came (a gzip stream is no exposition), on either path."""
    body = gzip.compress(b"a 1\n", mtime=0)
    zipped = http_response(body, headers=(f"Content-Encoding: {encoding}",))
    with scripted(always(Reply(zipped, close=True))) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == scrapes.get(target, direct=False) == body
    spaced = http_response(body, headers=("Content-Encoding:  gzip \t",))
    with scripted(always(Reply(spaced, close=True))) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == scrapes.get(target, direct=False) == b"a 1\n"  # trimmed, as Go's


def test_a_refused_connection_and_an_unknown_host_are_the_same_errors(scrapes: Scrapes) -> None:
    for url in (f"http://{refused_address()}/metrics", "http://unknown.invalid/metrics"):
        target = scrapes.target(url)
        assert scrapes.get(target) == scrapes.get(target, direct=False)
    assert (
        scrapes.get(scrapes.target(f"http://{refused_address()}/m"))
        == "connection failed: connection refused"
    )


def test_a_kept_connection_carries_the_next_scrapes(scrapes: Scrapes) -> None:
    with scripted(always(keep_alive())) as endpoint:
        target = scrapes.target(endpoint.url)
        assert [scrapes.get(target) for _ in range(3)] == [b"a 1\n"] * 3
    assert (endpoint.connections, endpoint.answered) == (1, 3)
    assert [guard.reused for guard in scrapes.guards] == [False, True, True]


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"


@pytest.mark.parametrize(
    "reply",
    [
        http_response(headers=("Connection: close",)),
        http_response(length=False),  # read to the close: the server closes it
        http_response() + b"HTTP/1.1 200 OK\r\n",  # bytes after the body
        CHUNKED + b"Content-Length: 4\r\n\r\n4\r\na 1\n\r\n0\r\n\r\n",  # chunked and a length
        b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\na 1\n",
    ],
    ids=["connection close", "no length", "bytes after the body", "chunked and a length", "HTTP/1.0"],
)
def test_a_connection_that_cannot_carry_the_next_scrape_is_closed(scrapes: Scrapes, reply: bytes) -> None:
    close = b"Content-Length" not in reply or reply.startswith(b"HTTP/1.0")
    with scripted(always(Reply(reply, close=close))) as endpoint:
        target = scrapes.target(endpoint.url)
        assert [scrapes.get(target) for _ in range(2)] == [b"a 1\n"] * 2
    assert endpoint.connections == 2


def test_a_chunked_answer_keeps_its_connection(scrapes: Scrapes) -> None:
    with scripted(always(Reply(CHUNKED + b"\r\n4\r\na 1\n\r\n0\r\n\r\n"))) as endpoint:
        target = scrapes.target(endpoint.url)
        assert [scrapes.get(target) for _ in range(2)] == [b"a 1\n"] * 2
    assert endpoint.connections == 1


def test_an_error_answer_s_connection_is_closed(scrapes: Scrapes) -> None:
    with scripted(always(Reply(http_response(status="503 Service Unavailable")))) as endpoint:
        target = scrapes.target(endpoint.url)
        assert (
            scrapes.get(target)
            == scrapes.get(target)
            == "server returned HTTP status 503 Service Unavailable"
        )
    assert endpoint.connections == 2


def closing_kept(dead: int = 0) -> Script:
    """Each connection's second request goes unanswered and closed (the target's idle timeout
    ran out as it came), and so does every request of the ``dead`` connections after the first."""

    def script(connection: int, request: int, _head: bytes) -> Reply | None:
        if request > 0 or 0 < connection <= dead:
            return None
        return keep_alive()

    return script


def test_a_kept_connection_the_target_closed_as_the_request_went_out_is_sent_again_once(
    scrapes: Scrapes,
) -> None:
    with scripted(closing_kept()) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == scrapes.get(target) == b"a 1\n"
    assert (endpoint.connections, len(endpoint.heads), endpoint.answered) == (2, 3, 2)
    assert scrapes.guards[1].reused is False  # the request that was answered went on a new one


def test_it_is_sent_again_only_once(scrapes: Scrapes) -> None:
    with scripted(closing_kept(dead=1)) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == b"a 1\n"
        failed = scrapes.get(target)
    assert failed == "connection failed: RemoteDisconnected: Remote end closed connection without response"
    assert (endpoint.connections, len(endpoint.heads)) == (2, 3)


def test_a_kept_connection_that_answers_garbage_is_not_sent_again(scrapes: Scrapes) -> None:
    replies = [keep_alive(), Reply(b"HELLO\r\n\r\n", close=True)]
    with scripted(lambda _connection, request, _head: replies[min(request, 1)]) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == b"a 1\n"
        assert str(scrapes.get(target)).startswith("connection failed: BadStatusLine: HELLO")
    assert (endpoint.connections, len(endpoint.heads)) == (1, 2)


def test_a_new_connection_closed_unanswered_is_not_sent_again(scrapes: Scrapes) -> None:
    with scripted(lambda *_: None) as endpoint:
        failed = scrapes.get(scrapes.target(endpoint.url))
    assert failed == "connection failed: RemoteDisconnected: Remote end closed connection without response"
    assert (endpoint.connections, len(endpoint.heads)) == (1, 1)


def test_the_guard_s_abort_cuts_a_read_blocked_in_the_body_at_once(scrapes: Scrapes) -> None:
    start = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\na 1\n"
    with scripted(always(Reply(start, hang=True))) as endpoint:
        target = scrapes.target(endpoint.url)
        guard = Guard(time.monotonic() + 600, Reach(target.url), proxied=False)  # no deadline of its own
        outcome: list[bytes | str] = []
        getting = threading.Thread(target=lambda: outcome.append(scrapes.get(target, guard=guard)))
        getting.start()
        for _ in range(1000):  # until the body has begun: the GET is then blocked reading the rest
            if endpoint.answered:
                break
            time.sleep(0.01)
        assert endpoint.answered
        guard.abort()
        getting.join(10)
    assert not getting.is_alive() and outcome == [f"timed out after {TIMEOUT:g}s"]


def test_each_operation_is_bounded_by_the_time_left(scrapes: Scrapes) -> None:
    with scripted(always(Reply(b"HTTP/1.1 200 OK\r\n", hang=True))) as endpoint:
        target = scrapes.target(endpoint.url)
        guard = Guard(time.monotonic() + 0.2, Reach(target.url), proxied=False)
        # the socket's own timeout (no watch here): the scrape's timeout, as the watch's cut reads
        assert scrapes.get(target, guard=guard) == f"timed out after {TIMEOUT:g}s"


def redirecting(_connection: int, _request: int, head: bytes) -> Reply:
    if head.startswith(b"GET /metrics "):
        return Reply(http_response(b"", status="302 Found", headers=("Location: /elsewhere",)))
    return keep_alive()


def test_a_redirect_is_followed_by_requests_and_remembered(scrapes: Scrapes) -> None:
    with scripted(redirecting) as endpoint:
        target = scrapes.target(endpoint.url)
        assert scrapes.get(target) == scrapes.get(target) == b"a 1\n"
        assert not scrapes.scraper.transport.takes(target)
    paths = [head.split(b" ")[1] for head in endpoint.heads]
    # the first scrape: its GET on the transport, then requests' GET and the redirect's
    assert paths == [b"/metrics", b"/metrics", b"/elsewhere", b"/metrics", b"/elsewhere"]


def test_without_follow_redirects_a_redirect_is_today_s_error(scrapes: Scrapes) -> None:
    reply = Reply(http_response(b"", status="302 Found", headers=("Location: /elsewhere",)))
    with scripted(always(reply)) as endpoint:
        target = scrapes.target(endpoint.url, follow_redirects=False)
        assert (
            scrapes.get(target)
            == scrapes.get(target, direct=False)
            == "server returned HTTP status 302 Found"
        )
        assert scrapes.scraper.transport.takes(target)


def test_the_handler_scrapes_a_fleet_on_kept_connections(emulated: Emulated) -> None:
    with serve(Response(b"kept 1\n", gzip=True)) as endpoint:
        emulated.put_config(config(job("plain", endpoint.address)))
        for _ in range(2):
            assert emulated.invoke()["targets"][0]["up"] == 1
    assert len(endpoint.requests) == 2
