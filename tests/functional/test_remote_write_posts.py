"""A Remote Write POST on the sink's own connections (``scrapehttp.posts``) against scripted
endpoints on 127.0.0.1, plain and over TLS: the same request on the wire and the same outcome
as the requests path, keep-alive counted at the endpoint, a connection let go whenever it cannot
carry the next POST, a stale kept connection sent again once, an answer read within its bounds,
the receiver's certificate verified as urllib3 verifies it."""

from __future__ import annotations

import datetime
import gzip
import ssl
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import trustme
from requests.auth import HTTPBasicAuth
from scrape_push.config.source import parse_config
from scrape_push.credentials import Secret
from scrape_push.deadline import Deadline
from scrape_push.httpconfig import KeptContext, TLSConfig, new_session
from scrape_push.httpconfig.client import HeaderAuth
from scrape_push.scrapehttp.posts import Poster
from scrape_push.signing import Keys
from scrape_push.sigv4 import SigV4RequestAuth
from scrape_push.sinks.remote_write.config import RemoteWriteConfig
from scrape_push.sinks.remote_write.limits import MAX_ANSWER_BYTES, MAX_ERROR_BODY_BYTES
from scrape_push.sinks.remote_write.sink import RemoteWriteSink
from scrape_push.sinks.remote_write.transport import Outcome, Sender

from tests.support.context import build_context
from tests.support.http import refused_address
from tests.support.remote_write import Clock, RequestsPoster
from tests.support.scripted import Reply, Script, Scripted, always, http_response, scripted

NO_CONTENT = Reply(b"HTTP/1.1 204 No Content\r\n\r\n")

_SIGNED_AT = datetime.datetime(2026, 1, 2, 3, 4, 5)
_KEYS = Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


def config(url: str, timeout: str = "2s") -> RemoteWriteConfig:
    text = (
        f"remote_write:\n  - url: {url}\n    remote_timeout: {timeout}\n"
        "    queue_config: {min_backoff: 10s, max_backoff: 10s}\n"
        "    headers: {X-Scope-OrgID: tenant-1}\n"
    )
    return parse_config(text).config.sinks["remote_write"][0]


class Senders:
    """Senders of one configuration: on a poster's connections, or through requests (the
    reference: ``RequestsPoster``)."""

    def __init__(self) -> None:
        self.posters: list[Poster | RequestsPoster] = []

    def sender(
        self,
        url: str,
        *,
        direct: bool,
        auth: Any = None,
        clock: Clock | None = None,
        timeout: str = "2s",
        tls: TLSConfig | None = None,
    ) -> Sender:
        tls = tls or TLSConfig()
        secrets = build_context().secrets
        poster: Poster | RequestsPoster
        if direct:
            poster = Poster(
                1,
                2,
                error_limit=MAX_ERROR_BODY_BYTES,
                tls=KeptContext(tls, secrets).get,
                server_name=tls.server_name,
            )
        else:
            poster = RequestsPoster(new_session(tls, 2, secrets), verify=not tls.insecure_skip_verify)
        self.posters.append(poster)
        clock = clock or Clock()
        configured = replace(config(url, timeout), tls_config=tls)
        return Sender(configured, auth, poster=poster, sleep=clock.sleep, rng=lambda: 1.0)  # type: ignore[arg-type]

    def outcome(
        self,
        url: str,
        body: bytes = b"x",
        *,
        direct: bool = True,
        timeout: str = "2s",
        tls: TLSConfig | None = None,
    ) -> tuple[Outcome, list[float]]:
        clock = Clock()
        sender = self.sender(url, direct=direct, clock=clock, timeout=timeout, tls=tls)
        return sender.send(body, Deadline.after(15, clock)), clock.sleeps


@pytest.fixture
def senders() -> Iterator[Senders]:
    made = Senders()
    yield made
    for poster in made.posters:
        poster.close()


AUTHS = {
    "none": None,
    "basic": HTTPBasicAuth("u", "pw"),
    "bearer": HeaderAuth("Bearer", Secret("token")),
    "sigv4": SigV4RequestAuth("eu-west-1", "aps", lambda: _KEYS, lambda: _SIGNED_AT),
}


@pytest.mark.parametrize("auth", sorted(AUTHS))
def test_the_request_on_the_wire_is_the_requests_path_s(senders: Senders, auth: str) -> None:
    bodies = [b"first", b"\x00second body", b"\xff" * 70000]
    with scripted(always(NO_CONTENT)) as endpoint:
        url = endpoint.url.replace("/metrics", "/api/v1/write?tenant=a")
        for direct in (False, True):
            sender = senders.sender(url, direct=direct, auth=AUTHS[auth])
            assert [sender.send(body, Deadline.after(15)).status for body in bodies] == ["sent"] * 3
    through_requests, direct_heads = endpoint.heads[:3], endpoint.heads[3:]
    assert direct_heads == through_requests  # byte for byte: every header, its value and its place
    assert endpoint.bodies == bodies * 2
    assert direct_heads[0].startswith(b"POST /api/v1/write?tenant=a HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"X-Scope-OrgID: tenant-1\r\n" in direct_heads[0]
    assert b"Content-Length: 70000\r\n" in direct_heads[2]
    assert (b"Authorization: " in direct_heads[0]) == (auth != "none")


def test_a_kept_connection_carries_the_next_posts(senders: Senders) -> None:
    with scripted(always(NO_CONTENT)) as endpoint:
        sender = senders.sender(endpoint.url, direct=True)
        assert [sender.send(b"x", Deadline.after(15)).status for _ in range(3)] == ["sent"] * 3
    assert (endpoint.connections, endpoint.answered) == (1, 3)


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        b"HTTP/1.0 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the close",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",  # an answer nobody asked for
    ],
    ids=["connection-close", "http-1.0", "to-the-close", "length-and-chunked", "extra-bytes"],
)
def test_a_connection_that_cannot_carry_the_next_post_is_let_go(senders: Senders, reply: bytes) -> None:
    with scripted(always(Reply(reply, close=b"close" in reply))) as endpoint:
        sender = senders.sender(endpoint.url, direct=True)
        assert sender.send(b"x", Deadline.after(15)).status == "sent"
        assert sender.send(b"y", Deadline.after(15)).status == "sent"
    assert endpoint.connections == 2


def test_a_chunked_answer_keeps_its_connection(senders: Senders) -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    with scripted(always(Reply(answer))) as endpoint:
        sender = senders.sender(endpoint.url, direct=True)
        assert [sender.send(b"x", Deadline.after(15)).status for _ in range(2)] == ["sent"] * 2
    assert endpoint.connections == 1


FAULTS: dict[str, bytes] = {
    "rejected": http_response(b"out of order sample\n", status="400 Bad Request"),
    "rejected without a body": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    "rejected, gzipped": http_response(
        gzip.compress(b"too old " * 100), status="400 Bad Request", headers=("Content-Encoding: gzip",)
    ),
    "rejected, chunked": (
        b"HTTP/1.1 422 Unprocessable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n"
    ),
    "retried after": http_response(
        b"slow down", status="429 Too Many Requests", headers=("Retry-After: 3", "Connection: close")
    ),
    "server error": http_response(b"", status="503 Service Unavailable", headers=("Connection: close",)),
    "status without reason": http_response(b"", status="500", headers=("Connection: close",)),
    "redirect": http_response(b"", status="302 Found", headers=("Location: /elsewhere",)),
    "closed unanswered": b"",
    "garbage status line": b"HELLO\r\n\r\n",
    "unknown protocol": b"HTTP/2.0 204 No Content\r\n\r\n",
    "too many headers": b"HTTP/1.1 204 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
    "sent, body cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok",
    "rejected, body cut short": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 100\r\n\r\nbad label",
    "sent, not gzip": http_response(b"not gzip", headers=("Content-Encoding: gzip",)),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_an_answer_is_the_same_outcome_on_either_path(senders: Senders, fault: str) -> None:
    """Outcome and waits: a fresh connection each time (the endpoint closes after its answer; an
    answer retried says so, or requests might reuse the connection before its close is seen, a
    failed attempt where this path sends again at once). One difference: http.client quotes a
    bad status line with its CRLF, this path without."""
    with scripted(always(Reply(FAULTS[fault], close=True))) as endpoint:
        through_requests = senders.outcome(endpoint.url, direct=False)
        direct = senders.outcome(endpoint.url)
    assert direct[1] == through_requests[1]
    assert _spaced(direct[0]) == _spaced(through_requests[0])
    assert len(endpoint.heads) == 2 * direct[0].attempts


def _spaced(outcome: Outcome) -> Outcome:
    """``outcome`` with runs of whitespace in its error one space and the ends trimmed."""
    error = None if outcome.error is None else " ".join(outcome.error.split())
    return Outcome(outcome.status, outcome.attempts, error)


def test_a_refused_connection_is_the_same_error(senders: Senders) -> None:
    url = f"http://{refused_address()}/api/v1/write"
    direct, through_requests = senders.outcome(url), senders.outcome(url, direct=False)
    assert direct == through_requests
    assert direct[0].error is not None and direct[0].error.endswith("ConnectionError: connection refused")


def closing_kept(dead: int = 0) -> Script:
    """Each connection's second request goes unanswered and closed (the receiver's idle timeout
    ran out as it came), and so does every request of the ``dead`` connections after the first."""

    def script(connection: int, request: int, _head: bytes) -> Reply | None:
        if request > 0 or 0 < connection <= dead:
            return None
        return NO_CONTENT

    return script


def test_a_kept_connection_the_receiver_closed_is_sent_again_once(senders: Senders) -> None:
    with scripted(closing_kept()) as endpoint:
        sender = senders.sender(endpoint.url, direct=True)
        outcomes = [sender.send(b"x", Deadline.after(15)) for _ in range(2)]
    assert outcomes == [Outcome("sent", 1)] * 2  # the second attempt's resend is not a retry
    assert (endpoint.connections, len(endpoint.heads), endpoint.answered) == (2, 3, 2)


def test_a_kept_connection_is_sent_again_only_once(senders: Senders) -> None:
    """The resend on a new connection goes unanswered too: the attempt failed, the next one
    (after its backoff) is answered."""
    with scripted(closing_kept(dead=1)) as endpoint:
        clock = Clock()
        sender = senders.sender(endpoint.url, direct=True, clock=clock)
        assert sender.send(b"x", Deadline.after(15, clock)) == Outcome("sent", 1)
        assert sender.send(b"y", Deadline.after(15, clock)) == Outcome("sent", 2)
    assert clock.sleeps == [10.0]
    assert (endpoint.connections, len(endpoint.heads), endpoint.answered) == (3, 4, 2)


def test_an_endless_answer_is_read_no_further_than_its_bound(senders: Senders) -> None:
    """A 4 MiB answer said to be 1 GiB, then the connection held: sent, the connection let go."""
    endless = b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n" + b"x" * (4 << 20)
    replies = [Reply(endless, hang=True), NO_CONTENT]
    with scripted(lambda connection, _request, _head: replies[min(connection, 1)]) as endpoint:
        sender = senders.sender(endpoint.url, direct=True)
        assert sender.send(b"x", Deadline.after(15)).status == "sent"
        assert sender.send(b"y", Deadline.after(15)).status == "sent"
    assert endpoint.connections == 2


def test_a_rejection_s_endless_body_is_quoted_within_bounds(senders: Senders) -> None:
    endless = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n" + b"8000\r\n" + b"y" * 32768
    replies = endless + (b"\r\n8000\r\n" + b"y" * 32768) * 100
    with scripted(always(Reply(replies, hang=True))) as endpoint:
        outcome = senders.outcome(endpoint.url)[0]
    assert outcome.status == "rejected" and outcome.error is not None
    assert len(outcome.error) < 2 * MAX_ERROR_BODY_BYTES
    assert len(replies) > MAX_ANSWER_BYTES


def test_a_receiver_that_never_answers_fails_the_attempt_within_its_time(senders: Senders) -> None:
    """``remote_timeout`` is 1 s: each of the two attempts (10 s of backoff between them, on the
    test's clock) ends at its read timeout (750 ms)."""
    with scripted(always(Reply(b"", hang=True))) as endpoint:
        direct = senders.outcome(endpoint.url, timeout="1s")
    outcome, sleeps = direct
    assert (outcome.status, outcome.attempts, sleeps) == ("failed", 2, [10.0])
    assert outcome.error is not None and outcome.error.endswith("ReadTimeout: TimeoutError: timed out")
    assert len(endpoint.heads) == 2


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def server_context(authority: trustme.CA, client_ca: trustme.CA | None = None) -> ssl.SSLContext:
    """A receiver's context: its certificate for ``receiver.test`` from ``authority``; with
    ``client_ca``, a client certificate from it is required (mutual TLS)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("receiver.test").configure_cert(context)
    if client_ca is not None:
        client_ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def trusting(authority: trustme.CA, **keys: Any) -> TLSConfig:
    return TLSConfig(ca=authority.cert_pem.bytes().decode(), **keys)


def test_an_https_receiver_is_posted_over_tls_on_kept_connections(
    senders: Senders, authority: trustme.CA
) -> None:
    tls = trusting(authority, server_name="receiver.test")
    with scripted(always(NO_CONTENT), server_context(authority)) as endpoint:
        url = f"https://{endpoint.address}/api/v1/write"
        for direct in (False, True):
            sender = senders.sender(url, direct=direct, tls=tls)
            sent = [sender.send(body, Deadline.after(15)).status for body in (b"a", b"b", b"c")]
            assert sent == ["sent"] * 3
    assert endpoint.heads[3:] == endpoint.heads[:3]  # byte for byte, as requests sent them
    start = f"POST /api/v1/write HTTP/1.1\r\nHost: {endpoint.address}\r\n"
    assert endpoint.heads[3].startswith(start.encode())
    assert endpoint.connections == 2  # one each: three POSTs on it


VERIFICATIONS = {
    "an unknown authority": lambda authority: TLSConfig(),
    "a name the certificate does not hold": trusting,
    "another server name": lambda authority: trusting(authority, server_name="other.test"),
    "verification skipped": lambda authority: TLSConfig(insecure_skip_verify=True),
    "a verified server name": lambda authority: trusting(authority, server_name="receiver.test"),
}


@pytest.mark.parametrize("case", sorted(VERIFICATIONS))
def test_the_receiver_s_certificate_is_verified_as_requests_verifies_it(
    senders: Senders, authority: trustme.CA, case: str
) -> None:
    tls = VERIFICATIONS[case](authority)
    with scripted(always(NO_CONTENT), server_context(authority)) as endpoint:
        url = f"https://{endpoint.address}/api/v1/write"
        direct = senders.outcome(url, tls=tls)[0]
        through_requests = senders.outcome(url, direct=False, tls=tls)[0]
    assert (direct.status, direct.attempts) == (through_requests.status, through_requests.attempts)
    if direct.status == "failed":  # urllib3 matches a server_name itself: its own error's words
        assert direct.error is not None and through_requests.error is not None
        assert "last: SSLError: SSLCertVerificationError: " in direct.error
        assert "last: SSLError: " in through_requests.error
    assert (direct.status == "sent") == (case in ("verification skipped", "a verified server name"))


def test_a_client_certificate_is_presented_to_a_receiver_that_asks(
    senders: Senders, authority: trustme.CA
) -> None:
    client_ca = trustme.CA()
    client = client_ca.issue_cert("scrape-push")
    certificate = "".join(blob.bytes().decode() for blob in client.cert_chain_pems)
    key = Secret(client.private_key_pem.bytes().decode())
    with_cert = trusting(authority, server_name="receiver.test", cert=certificate, key=key)
    without = trusting(authority, server_name="receiver.test")
    with scripted(always(NO_CONTENT), server_context(authority, client_ca)) as endpoint:
        url = f"https://{endpoint.address}/api/v1/write"
        assert senders.outcome(url, tls=with_cert)[0] == Outcome("sent", 1)
        refused = senders.outcome(url, tls=without)[0]
    # TLS 1.3: the receiver's refusal comes after the client's handshake, as an alert or, when
    # its close overtakes the alert, a reset: either way an attempt failed, nothing got through
    assert refused.status == "failed" and refused.error is not None
    assert "last: SSLError: " in refused.error or "ConnectionResetError" in refused.error
    assert len(endpoint.heads) == 1


def test_the_sink_posts_on_its_own_connections() -> None:
    for url in ("http://127.0.0.1:9/api/v1/write", "https://127.0.0.1:9/api/v1/write"):
        sink = RemoteWriteSink(config(url), build_context())
        try:
            assert sink.sender().poster is not None
        finally:
            sink.close()


def test_the_sink_s_posts_share_one_connection_across_invocations(endpoint_204: Scripted) -> None:
    sink = RemoteWriteSink(config(endpoint_204.url), build_context())
    try:
        for _ in range(3):
            assert sink.sender().send(b"x", Deadline.after(15)).status == "sent"
    finally:
        sink.close()
    assert (endpoint_204.connections, endpoint_204.answered) == (1, 3)


@pytest.fixture
def endpoint_204() -> Iterator[Scripted]:
    with scripted(always(NO_CONTENT)) as endpoint:
        yield endpoint
