"""Headers, retry policy and deadline bounds, with an injected sleep/clock and a fake poster
(the answers' own bounds, on real sockets: tests/functional/test_remote_write_posts.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import requests
from requests.auth import HTTPBasicAuth
from scrape_push import __version__
from scrape_push.config.source import parse_config
from scrape_push.credentials import Secret
from scrape_push.deadline import Deadline
from scrape_push.httpconfig.client import HeaderAuth
from scrape_push.signing import Keys
from scrape_push.sigv4 import SigV4RequestAuth
from scrape_push.sinks.remote_write.config import QueueConfig, RemoteWriteConfig
from scrape_push.sinks.remote_write.transport import Sender, backoff, parse_retry_after

from tests.support.http import fake_session
from tests.support.remote_write import Clock, Reply, fake_poster


def _config(extra: str = "") -> RemoteWriteConfig:
    text = f"remote_write:\n  - url: http://127.0.0.1:9/api/v1/write\n{extra}"
    return parse_config(text).config.sinks["remote_write"][0]


def _sender(
    config: RemoteWriteConfig, *script: Reply | Exception
) -> tuple[Sender, Clock, list[requests.PreparedRequest]]:
    clock = Clock()
    poster = fake_poster(*script)
    sender = Sender(config, None, poster=poster, sleep=clock.sleep, rng=lambda: 1.0)  # type: ignore[arg-type]
    return sender, clock, poster.sent


def test_protocol_headers_win_over_configured_headers() -> None:
    config = _config("    headers: {X-Scope-OrgID: tenant-1}\n")
    object.__setattr__(config, "headers", {"X-Scope-OrgID": "tenant-1", "content-type": "text/plain"})
    sender, clock, sent = _sender(config, Reply(204))
    assert sender.send(b"body", Deadline.after(30, clock)).status == "sent"
    headers = sent[0].headers
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["Content-Encoding"] == "snappy"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["User-Agent"] == f"scrape-push/{__version__}"
    assert headers["X-Scope-OrgID"] == "tenant-1"
    assert sent[0].body == b"body"


def test_retries_5xx_with_doubling_backoff_then_succeeds() -> None:
    sender, clock, _ = _sender(_config(), Reply(503), Reply(500), Reply(502), Reply(200))
    outcome = sender.send(b"x", Deadline.after(30, clock))
    assert (outcome.status, outcome.attempts) == ("sent", 4)
    assert clock.sleeps == [0.03, 0.06, 0.12]


def test_backoff_is_capped_and_jittered_within_its_upper_half() -> None:
    queue = QueueConfig(min_backoff=0.1, max_backoff=1.0)
    assert [backoff(n, queue, lambda: 1.0) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff(3, queue, lambda: 0.0) == 0.2


def test_429_honours_retry_after() -> None:
    sender, clock, _ = _sender(_config(), Reply(429, headers={"Retry-After": "2"}), Reply(200))
    assert sender.send(b"x", Deadline.after(30, clock)).status == "sent"
    assert clock.sleeps == [2.0]


def test_429_not_retried_when_disabled() -> None:
    sender, clock, sent = _sender(_config("    queue_config: {retry_on_http_429: false}\n"), Reply(429))
    assert sender.send(b"x", Deadline.after(30, clock)).status == "rejected"
    assert len(sent) == 1


def test_other_4xx_is_rejected_once_with_a_short_body_excerpt() -> None:
    sender, clock, sent = _sender(_config(), Reply(400, body=b"out of order sample " + b"x" * 1000))
    outcome = sender.send(b"x", Deadline.after(30, clock), "batch")
    assert outcome.status == "rejected"
    assert len(sent) == 1 and clock.sleeps == []
    assert outcome.error is not None and outcome.error.startswith(
        "batch rejected with HTTP 400: out of order"
    )
    assert len(outcome.error) < 300


def test_connection_errors_retry_until_the_deadline_then_fail() -> None:
    errors = [requests.ConnectionError("Connection refused") for _ in range(100)]
    sender, clock, sent = _sender(_config("    queue_config: {min_backoff: 1s, max_backoff: 2s}\n"), *errors)
    outcome = sender.send(b"x", Deadline.after(6, clock))
    assert outcome.status == "failed"
    assert outcome.error is not None and "connection refused" in outcome.error
    assert clock.now <= 6  # no wait ran past the deadline
    assert len(sent) == outcome.attempts >= 3


def test_retry_after_longer_than_the_time_left_gives_up_at_once() -> None:
    sender, clock, sent = _sender(_config(), Reply(503, headers={"Retry-After": "50"}))
    outcome = sender.send(b"x", Deadline.after(10, clock))
    assert outcome.status == "failed" and clock.sleeps == [] and len(sent) == 1


def test_no_request_starts_without_time_left() -> None:
    sender, clock, sent = _sender(_config())
    assert sender.send(b"x", Deadline.after(0.1, clock)).status == "failed"
    assert sent == []


def test_parse_retry_after() -> None:
    assert parse_retry_after("7", 0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 10.0) == 20.0
    assert parse_retry_after("soon", 0) is None
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("100000", 0) == 60.0


def test_connecting_and_waiting_for_the_answer_together_fit_the_time_left() -> None:
    """Each applies to its part: given the time left whole, a receiver slow at both could take
    twice as long; and the whole attempt ends by the time left."""
    clock = Clock()
    poster = fake_poster(Reply(204), Reply(204))
    sender = Sender(_config("    remote_timeout: 30s\n"), None, poster=poster, sleep=clock.sleep)  # type: ignore[arg-type]
    sender.send(b"x", Deadline.after(60, clock))
    sender.send(b"x", Deadline.after(4, clock))
    assert [(b.connect + b.read, b.until) for b in poster.bounds] == [(30.0, 30.0), (4.0, 4.0)]


_SIGNED_AT = datetime.datetime(2026, 1, 2, 3, 4, 5)
_KEYS = Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


@pytest.mark.parametrize(
    ("url", "auth"),
    [
        ("http://127.0.0.1:9/api/v1/write", None),
        ("https://user:pw@receiver.example:8443/api/v1/write?tenant=a", None),  # basic auth from the URL
        ("https://receiver.example/push", HTTPBasicAuth("u", "pw")),
        ("https://receiver.example/push", HeaderAuth("Bearer", Secret("token"))),
        (
            "https://receiver.example/push",
            SigV4RequestAuth("eu-west-1", "aps", lambda: _KEYS, lambda: _SIGNED_AT),
        ),
    ],
    ids=["plain", "url-userinfo", "basic", "bearer", "sigv4"],
)
def test_each_request_is_what_session_post_made(url: str, auth: Any) -> None:
    """The sender prepares its URL and headers once and copies them: each request's method, URL,
    headers, body and hooks are what ``Session.post`` made of the same arguments (as the sender
    called it before), whatever the authentication."""
    config = _config("    headers: {X-Scope-OrgID: tenant-1}\n")
    object.__setattr__(config, "url", url)
    poster = fake_poster()
    sender = Sender(config, auth, poster=poster)  # type: ignore[arg-type]
    bodies = [b"first", b"\x00second body", b"first"]
    for body in bodies:
        assert sender.send(body, Deadline.after(30)).status == "sent"
    session, adapter = fake_session()
    session.trust_env = False  # as the sink's session was (httpconfig.new_session)
    for body in bodies:
        session.post(url, data=body, headers=sender.headers, auth=auth, allow_redirects=False, stream=True)
    made = [(r.method, r.url, dict(r.headers), r.body, r.hooks) for r in adapter.sent]
    assert [(r.method, r.url, dict(r.headers), r.body, r.hooks) for r in poster.sent] == made


def test_a_senders_url_and_headers_are_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared: list[str] = []
    prepare_url = requests.PreparedRequest.prepare_url

    def counted(self: requests.PreparedRequest, url: str, params: Any) -> None:
        prepared.append(url)
        prepare_url(self, url, params)

    monkeypatch.setattr(requests.PreparedRequest, "prepare_url", counted)
    sender, clock, sent = _sender(_config(), Reply(503), Reply(204), Reply(204))
    assert sender.send(b"x", Deadline.after(30, clock)).status == "sent"
    assert sender.send(b"y", Deadline.after(30, clock)).status == "sent"
    assert [r.body for r in sent] == [b"x", b"x", b"y"]
    assert prepared == ["http://127.0.0.1:9/api/v1/write"]
