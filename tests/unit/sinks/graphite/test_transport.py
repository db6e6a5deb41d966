"""TCP and UDP sending with scripted sockets: a batch is sent only once the connection closed
cleanly; retries, timeouts bounded by the deadline, accounting."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import pytest
from scrape_push.deadline import Deadline
from scrape_push.delivery import count_attempt
from scrape_push.sinks.base import Result, SinkReport
from scrape_push.sinks.graphite.convert import Batch
from scrape_push.sinks.graphite.transport import Endpoint, open_stream, send_datagrams, send_stream

ENDPOINT = Endpoint("127.0.0.1", 2003, "plaintext", connect_timeout=5.0, write_timeout=10.0)
BATCHES = [Batch(b"a 1 1\n", 1), Batch(b"b 2 1\nc 3 1\n", 2), Batch(b"d 4 1\n", 1)]


@dataclass
class FakeSocket:
    """Fails the n-th write (0-based) with ``fail_on[n]``; records what it took and its timeouts.
    After the half-close it answers ``replies`` (then end of stream), or raises ``close_error``;
    then reports ``so_error`` and the TCP state ``tcp_state`` (7: closed cleanly)."""

    fail_on: dict[int, OSError] = field(default_factory=dict)
    close_error: OSError | None = None
    replies: list[bytes] = field(default_factory=list)
    so_error: int = 0
    tcp_state: int = 7
    written: list[bytes] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)
    writes: int = 0
    half_closed: bool = False
    closed: bool = False

    def settimeout(self, value: float | None) -> None:
        self.timeouts.append(value)

    def sendall(self, data: bytes) -> None:
        error = self.fail_on.get(self.writes)
        self.writes += 1
        if error is not None:
            raise error
        self.written.append(data)

    send = sendall

    def shutdown(self, how: int) -> None:
        assert how == socket.SHUT_WR
        self.half_closed = True

    def recv(self, size: int) -> bytes:
        assert self.half_closed
        if self.close_error is not None:
            raise self.close_error
        return self.replies.pop(0) if self.replies else b""

    def getsockopt(self, level: int, option: int, size: int = 0) -> int | bytes:
        if option == socket.SO_ERROR:
            return self.so_error
        return bytes([self.tcp_state]) + bytes(size - 1)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSocket:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass
class Connector:
    """Hands out the scripted sockets (or raises the scripted errors) in order."""

    script: list[FakeSocket | OSError]
    calls: list[tuple[tuple[str, int], float]] = field(default_factory=list)

    def __call__(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.calls.append((address, timeout))
        item = self.script.pop(0)
        if isinstance(item, OSError):
            raise item
        return item  # type: ignore[return-value]


PAYLOADS = [batch.payload for batch in BATCHES]


def tally(results: list[Result]) -> SinkReport:
    """The transport's results, counted as the delivery layer counts them (errors unformatted)."""
    report = SinkReport("graphite/test", "graphite", offered=4)
    for batch, result in zip(BATCHES, results, strict=True):
        count_attempt(report, result)
        if result.status == "sent":
            report.sent += batch.count
        else:
            report.failed += batch.count
            if result.status == "failed" and result.error:
                report.error(result.error)
    return report


def run(script: list[FakeSocket | OSError], deadline: Deadline | None = None) -> tuple[SinkReport, Connector]:
    warnings = SinkReport("graphite/test", "graphite")
    connector = Connector(script)
    results = send_stream(
        ENDPOINT, PAYLOADS, deadline=deadline or Deadline.after(60), warn=warnings.warn, connect=connector
    )
    report = tally(results)
    report.warnings = warnings.warnings
    return report, connector


def outcome(report: SinkReport) -> tuple[int, int, int, int]:
    return report.sent, report.failed, report.requests, report.failed_requests


def test_every_batch_on_one_connection_closed_cleanly() -> None:
    sock = FakeSocket()
    report, connector = run([sock])
    assert sock.written == [b.payload for b in BATCHES]
    assert sock.half_closed and sock.closed
    assert outcome(report) == (4, 0, 3, 0)
    assert (report.errors, report.warnings, len(connector.calls)) == ([], [], 1)


def test_a_refused_connection_fails_everything_with_the_reason() -> None:
    report, connector = run([ConnectionRefusedError(111, "Connection refused")])
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["127.0.0.1:2003 (plaintext): cannot connect: Connection refused"]
    assert len(connector.calls) == 1


def test_a_broken_connection_is_reopened_once_and_every_batch_written_again() -> None:
    first = FakeSocket(fail_on={1: BrokenPipeError(32, "Broken pipe")})
    second = FakeSocket()
    report, connector = run([first, second])
    assert first.written == [BATCHES[0].payload] and first.closed
    assert second.written == PAYLOADS  # the first batch was never confirmed either
    assert outcome(report) == (4, 0, 3, 0)
    assert report.warnings == [
        "127.0.0.1:2003 (plaintext): connection broke (Broken pipe); reconnected and wrote again"
    ]
    assert len(connector.calls) == 2


def test_a_second_break_fails_every_batch() -> None:
    first = FakeSocket(fail_on={0: ConnectionResetError(104, "Connection reset by peer")})
    second = FakeSocket(fail_on={1: BrokenPipeError(32, "Broken pipe")})
    report, _ = run([first, second])
    assert outcome(report) == (0, 4, 1, 1)  # the first batch was written, never confirmed
    assert report.errors == ["127.0.0.1:2003 (plaintext): write failed after reconnecting: Broken pipe"]


def test_a_reconnect_that_is_refused_fails_every_batch() -> None:
    first = FakeSocket(fail_on={2: ConnectionResetError(104, "Connection reset by peer")})
    report, _ = run([first, ConnectionRefusedError(111, "Connection refused")])
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["127.0.0.1:2003 (plaintext): cannot connect: Connection refused"]


def test_a_write_timeout_is_not_retried() -> None:
    sock = FakeSocket(fail_on={0: TimeoutError("timed out")})
    report, connector = run([sock])
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["127.0.0.1:2003 (plaintext): write failed: timed out"]
    assert len(connector.calls) == 1


def test_timeouts_are_bounded_by_the_deadline() -> None:
    now = [100.0]
    deadline = Deadline(at=102.0, clock=lambda: now[0])
    sock = FakeSocket()
    _, connector = run([sock], deadline)
    assert connector.calls == [(("127.0.0.1", 2003), 2.0)]
    assert sock.timeouts and all(t is not None and 0 < t <= 2.0 for t in sock.timeouts)


def test_nothing_is_started_past_the_deadline() -> None:
    report, connector = run([], Deadline(at=0.0, clock=lambda: 1.0))
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["127.0.0.1:2003 (plaintext): not sent: invocation deadline reached"]
    assert connector.calls == []


@pytest.mark.parametrize(
    ("sock", "cause"),
    [
        (
            FakeSocket(close_error=ConnectionResetError(104, "Connection reset by peer")),
            "Connection reset by peer",
        ),
        (
            FakeSocket(close_error=OSError(107, "Transport endpoint is not connected")),
            "Transport endpoint is not connected",
        ),
        (FakeSocket(so_error=32), "Broken pipe"),
        (FakeSocket(tcp_state=11), "the receiver closed before reading everything"),
        (FakeSocket(replies=[b"x" * 4096] * 17), "the receiver sent data instead of closing"),
    ],
)
def test_a_close_that_shows_the_receiver_did_not_read_everything_writes_all_again(
    sock: FakeSocket, cause: str
) -> None:
    again = FakeSocket()
    report, connector = run([sock, again])
    assert sock.written == again.written == PAYLOADS
    assert outcome(report) == (4, 0, 3, 0)
    assert report.warnings == [
        f"127.0.0.1:2003 (plaintext): connection broke ({cause}); reconnected and wrote again"
    ]
    assert len(connector.calls) == 2


def test_a_receiver_that_never_closes_gets_nothing_counted_sent() -> None:
    report, connector = run([FakeSocket(close_error=TimeoutError("timed out"))])
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["127.0.0.1:2003 (plaintext): not confirmed by a clean close: timed out"]
    assert len(connector.calls) == 1  # not reading is not a broken connection: not retried


def test_two_unclean_closes_fail_every_batch() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    report, _ = run([FakeSocket(close_error=reset), FakeSocket(close_error=reset)])
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == [
        "127.0.0.1:2003 (plaintext): not confirmed by a clean close after reconnecting: "
        "Connection reset by peer"
    ]


UDP = Endpoint("::1", 2003, "udp")


@pytest.mark.parametrize(
    ("fail_on", "expected", "errors"),
    [
        ({}, (4, 0, 3, 0), []),
        (
            {1: ConnectionRefusedError(111, "Connection refused")},
            (1, 3, 2, 1),
            ["[::1]:2003 (udp): send failed: Connection refused"],
        ),
    ],
)
def test_datagrams(
    fail_on: dict[int, OSError], expected: tuple[int, int, int, int], errors: list[str]
) -> None:
    sock = FakeSocket(fail_on=fail_on)
    report = tally(send_datagrams(UDP, PAYLOADS, deadline=Deadline.after(60), open_socket=lambda _a: sock))  # type: ignore[arg-type,return-value]
    assert outcome(report) == expected
    assert report.errors == errors
    assert sock.closed


def test_a_datagram_socket_that_cannot_open_fails_everything() -> None:
    def refuse(address: tuple[str, int]) -> socket.socket:
        raise socket.gaierror(-2, "Name or service not known")

    report = tally(send_datagrams(UDP, PAYLOADS, deadline=Deadline.after(60), open_socket=refuse))
    assert outcome(report) == (0, 4, 1, 1)
    assert report.errors == ["[::1]:2003 (udp): cannot resolve or open: Name or service not known"]


def test_every_address_a_name_resolves_to_shares_one_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """``socket.create_connection`` would give each of three silent addresses the whole timeout."""
    now = [0.0]
    timeouts: list[float] = []

    class Unreachable(FakeSocket):
        def connect(self, address: object) -> None:
            timeouts.append(self.timeouts[-1] or 0.0)
            now[0] += self.timeouts[-1] or 0.0  # the attempt takes all the time it was given
            raise TimeoutError("timed out")

    addresses = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"10.0.0.{i}", 2003)) for i in range(3)]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *_a, **_k: addresses)
    monkeypatch.setattr(socket, "socket", lambda *_a: Unreachable())
    with pytest.raises(TimeoutError):
        open_stream(("carbon.internal", 2003), 5.0, clock=lambda: now[0])
    assert timeouts == [5.0] and now[0] == 5.0  # the later addresses had no time left
