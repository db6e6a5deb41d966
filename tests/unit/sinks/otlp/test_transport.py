"""Sending: OTLP/HTTP headers, which answers are retried (429/502/503/504, connection failures)
and how long it waits (Retry-After, backoff), partial success, permanent refusals, and reading
at most a bounded answer. Over a fake adapter: no network."""

from __future__ import annotations

import email.utils
import gzip
import time

import requests
from scrape_push.deadline import Deadline
from scrape_push.delivery import DirectDelivery
from scrape_push.model import Family, Sample
from scrape_push.sinks.otlp.limits import MAX_RESPONSE_BYTES
from scrape_push.sinks.otlp.transport import Sender

from tests.support.otlp import (
    PROTOBUF,
    FakeAdapter,
    Reply,
    build_sink,
    fake_session,
    otlp_config,
    partial,
    status,
)
from tests.support.samples import sample

GAUGE = Family("g", "gauge")
JOB = (("instance", "10.0.0.1:9100"), ("job", "node"))


def samples(count: int) -> list[Sample]:
    return [sample("g", (("i", str(i)), *JOB), float(i), 1_700_000_000_000, GAUGE) for i in range(count)]


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sender(
    *script: Reply | Exception, entry: str = "{endpoint: 'https://c.example/v1/metrics'}"
) -> tuple[Sender, FakeAdapter, Sleeps]:
    session, adapter = fake_session(*script)
    sleeps = Sleeps()
    found = Sender(
        otlp_config(entry), "https://c.example/v1/metrics", None, session, sleep=sleeps, rng=lambda: 0.5
    )
    return found, adapter, sleeps


def test_a_request_carries_the_protocols_headers_and_the_configured_ones() -> None:
    entry = (
        "{endpoint: 'https://c.example/v1/metrics', headers: {X-Scope-OrgID: team-a}, "
        "basic_auth: {username: u, password: pw}}"
    )
    sink, adapter = build_sink(entry)
    report = DirectDelivery(sink).push(samples(3), Deadline.after(30))
    assert report.ok and report.sent == 3
    (sent,) = adapter.sent
    assert sent.url == "https://c.example/v1/metrics"
    for name, value in {
        "Content-Type": "application/x-protobuf",
        "Content-Encoding": "gzip",
        "X-Scope-OrgID": "team-a",
        "Accept-Encoding": "identity",
    }.items():
        assert sent.headers[name] == value
    assert sent.headers["User-Agent"].startswith("scrape-push/")
    assert sent.headers["Authorization"].startswith("Basic ")
    assert isinstance(sent.body, bytes) and gzip.decompress(sent.body)


def test_without_compression_the_body_is_plain_protobuf() -> None:
    sink, adapter = build_sink("{endpoint: 'https://c.example/v1/metrics', compression: none}")
    DirectDelivery(sink).push(samples(1), Deadline.after(30))
    assert "Content-Encoding" not in adapter.sent[0].headers
    assert isinstance(adapter.sent[0].body, bytes) and adapter.sent[0].body.startswith(b"\x0a")


def test_throttling_and_gateway_errors_are_retried_as_retry_after_asks() -> None:
    date = email.utils.formatdate(time.time() + 7, usegmt=True)
    found, adapter, sleeps = sender(
        status(429, "slow down", {"Retry-After": "3"}),
        status(503, "busy", {"Retry-After": date}),
        Reply(502),
        Reply(504),
        Reply(200, b"", PROTOBUF),
    )
    outcome = found.send(b"body", Deadline.after(60))
    assert (outcome.status, outcome.attempts) == ("sent", 5)
    assert len(adapter.sent) == 5
    assert sleeps.waits[0] == 3.0 and 5.5 < sleeps.waits[1] <= 7.0
    assert sleeps.waits[2:] == [0.75 * 0.5 * 2**2, 0.75 * 0.5 * 2**3]  # backoff: upper half, doubling


def test_connection_failures_are_retried_with_backoff() -> None:
    found, _, sleeps = sender(requests.ConnectionError("refused"), requests.Timeout("slow"), Reply(200))
    assert found.send(b"body", Deadline.after(60)).status == "sent"
    assert sleeps.waits == [0.375, 0.75]


def test_other_statuses_are_permanent_and_quote_the_receivers_status_message() -> None:
    for code in (400, 401, 403, 413, 500, 501):
        found, _, sleeps = sender(status(code, "invalid datapoint"))
        outcome = found.send(b"body", Deadline.after(60))
        assert (outcome.status, outcome.attempts, sleeps.waits) == ("rejected", 1, [])
        assert outcome.error == f"export rejected with HTTP {code}: invalid datapoint"
    found, _, _ = sender(Reply(400, b"<html>\n bad\x00 request </html>", {"Content-Type": "text/html"}))
    assert (
        found.send(b"body", Deadline.after(60)).error
        == "export rejected with HTTP 400: <html> bad request </html>"
    )


def test_no_wait_runs_past_the_deadline() -> None:
    found, adapter, sleeps = sender(status(429, "later", {"Retry-After": "40"}))
    outcome = found.send(b"body", Deadline.after(20))
    assert outcome.status == "failed" and sleeps.waits == [] and len(adapter.sent) == 1
    assert (
        outcome.error
        == "not delivered after 1 attempt(s) before the invocation deadline; last: HTTP 429: later"
    )
    found, adapter, _ = sender(Reply(200))
    assert found.send(b"body", Deadline.after(0.2)).status == "failed" and adapter.sent == []


def test_a_requests_time_is_split_between_connecting_and_the_answer() -> None:
    found, adapter, _ = sender(Reply(200))
    found.send(b"body", Deadline.after(60))
    assert adapter.timeouts == [(2.5, 7.5)]  # of the 10 s timeout


def test_at_most_a_bounded_answer_is_read() -> None:
    huge = b"x" * (50 * MAX_RESPONSE_BYTES)
    found, adapter, _ = sender(Reply(400, huge, {"Content-Type": "text/plain"}))
    outcome = found.send(b"body", Deadline.after(60))
    assert outcome.status == "rejected" and outcome.error is not None and len(outcome.error) < 300
    assert adapter.last_body.taken <= MAX_RESPONSE_BYTES + 4096
    bomb = gzip.compress(b"\x0a\x00" * (10 * MAX_RESPONSE_BYTES))
    found, _, _ = sender(Reply(200, bomb, {**PROTOBUF, "Content-Encoding": "gzip"}))
    assert found.send(b"body", Deadline.after(60)).status == "sent"


def test_a_partial_success_counts_the_refused_points_as_rejected() -> None:
    sink, _ = build_sink("{endpoint: 'https://c.example/v1/metrics'}", partial(2, "2 points too old"))
    report = DirectDelivery(sink).push(samples(5), Deadline.after(30))
    assert (report.sent, report.rejected, report.failed, report.requests) == (3, 2, 0, 1)
    assert report.errors == ["2 data points refused: 2 points too old (2 samples rejected, not retried)"]
    assert not report.ok


def test_a_partial_success_of_histogram_points_refuses_their_share_of_the_samples() -> None:
    family = Family("h", "histogram")
    histogram = [
        sample(name, (*labels, *JOB), value, 1_700_000_000_000, family)
        for i in range(4)
        for name, labels, value in (
            ("h_bucket", (("i", str(i)), ("le", "+Inf")), 2.0),
            ("h_count", (("i", str(i)),), 2.0),
            ("h_sum", (("i", str(i)),), 1.0),
        )
    ]
    sink, _ = build_sink("{endpoint: 'https://c.example/v1/metrics'}", partial(1, "one"))
    report = DirectDelivery(sink).push(histogram, Deadline.after(30))
    assert (report.sent, report.rejected) == (9, 3)  # 1 of 4 points: 3 of 12 samples


def test_a_warning_without_refused_points_is_a_warning() -> None:
    sink, _ = build_sink("{endpoint: 'https://c.example/v1/metrics'}", partial(0, "label values truncated"))
    report = DirectDelivery(sink).push(samples(2), Deadline.after(30))
    assert (
        report.ok and report.sent == 2 and report.warnings == ["the receiver warned: label values truncated"]
    )


def test_an_unreadable_success_answer_is_still_a_success() -> None:
    sink, _ = build_sink("{endpoint: 'https://c.example/v1/metrics'}", Reply(200, b"\x0a\x09trunc", PROTOBUF))
    report = DirectDelivery(sink).push(samples(2), Deadline.after(30))
    assert report.sent == 2 and report.warnings == [
        "the receiver warned: the receiver's answer is not an ExportMetricsServiceResponse"
    ]


class FakeTime:
    """A monotonic clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_once_a_request_fails_the_rest_are_skipped() -> None:
    entry = "{endpoint: 'https://c.example/v1/metrics', max_data_points_per_request: 2}"
    fake = FakeTime()
    sink, adapter = build_sink(entry, *[requests.ConnectionError("down")] * 100, sleep=fake.sleep)
    report = DirectDelivery(sink).push(samples(6), Deadline(8.0, fake))
    assert report.failed == 6 and report.sent == 0
    assert report.requests == 1 and len(report.errors) == 1  # the two other requests were skipped
    assert len(adapter.sent) == 5  # retried with backoff (0.375, 0.75, 1.5, 2.5 s) until the deadline
