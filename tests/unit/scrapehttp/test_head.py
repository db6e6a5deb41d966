"""A response's head read from hostile bytes: each limit, the grammar refused rather than
repaired, interim responses skipped, any split of the bytes across reads."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterable

import pytest
from scrape_push.scrapehttp.head import (
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_INTERIM_RESPONSES,
    MAX_LINE_BYTES,
    Head,
    InvalidResponse,
    Reader,
    Truncated,
    read_head,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\n"


def feed(pieces: Iterable[bytes]) -> Callable[[int], bytes]:
    """A connection's ``recv`` that returns ``pieces`` one a call (at most what it is asked
    for, as a socket), then the end."""
    queue = list(pieces)

    def recv(most: int) -> bytes:
        assert most > 0
        if not queue:
            return b""
        found, queue[0] = queue[0][:most], queue[0][most:]
        if not queue[0]:
            queue.pop(0)
        return found

    return recv


def head_of(*pieces: bytes) -> Head:
    return read_head(Reader(feed(pieces)))


def test_a_head_is_read_and_what_follows_it_stays_for_the_body() -> None:
    reader = Reader(feed([OK + b"a 1\n"]))
    head = read_head(reader)
    assert (head.version, head.status, head.reason) == (11, 200, "OK")
    assert head.get("Content-Type") == "text/plain" and head.get("content-length") == "4"
    assert reader.buffered == 4 and reader.piece(10) == b"a 1\n"


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_any_split_across_reads_reads_the_same(size: int) -> None:
    data = OK.replace(b"\r\n", b"\n", 1) + b"body"  # a bare LF too
    reader = Reader(feed(data[i : i + size] for i in range(0, len(data), size)))
    head = read_head(reader)
    assert (head.status, head.get("Content-Length")) == (200, "4")
    assert b"".join(iter(lambda: reader.piece(100), b"")) == b"body"


def test_bare_line_feeds_are_taken_as_go_and_http_client_take_them() -> None:
    head = head_of(b"HTTP/1.0 404 Not Found\nContent-Length: 0\n\n")
    assert (head.version, head.status, head.reason) == (10, 404, "Not Found")


def test_a_field_sent_twice_has_its_values_joined() -> None:
    head = head_of(b"HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nX-Other: 1\r\ncontent-type:  c/d \r\n\r\n")
    assert head.get("Content-Type") == "a/b, c/d"
    assert head.get("X-Other") is None  # not a field a scrape reads


@pytest.mark.parametrize(
    ("line", "error", "text"),
    [
        (b"HELLO", http.client.BadStatusLine, "HELLO"),
        (b"HTTP/2.0 200 OK", http.client.UnknownProtocol, "HTTP/2.0"),
        (b"HTTP/1.1 20 OK", http.client.BadStatusLine, "HTTP/1.1 20 OK"),
        (b"HTTP/1.1 abc OK", http.client.BadStatusLine, "HTTP/1.1 abc OK"),
        (b"HTTP/1.1 099 Low", http.client.BadStatusLine, "HTTP/1.1 099 Low"),
        (b"HTTP/1.1  200 OK", http.client.BadStatusLine, "HTTP/1.1  200 OK"),
    ],
)
def test_a_bad_status_line_fails_as_http_client_names_it(
    line: bytes, error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as raised:
        head_of(line + b"\r\n\r\n")
    assert str(raised.value) == text


def test_a_status_line_without_reason_is_read() -> None:
    assert (head_of(b"HTTP/1.1 500\r\n\r\n").status, head_of(b"HTTP/1.1 500\r\n\r\n").reason) == (500, "")


def test_a_status_line_past_the_line_limit_fails_before_its_end_comes() -> None:
    pieces = [b"HTTP/1.1 200 " + b"O" * MAX_LINE_BYTES, b"O" * 10]  # no line end ever
    with pytest.raises(http.client.LineTooLong, match="status line"):
        head_of(*pieces)


def test_a_header_line_past_the_line_limit_fails() -> None:
    with pytest.raises(http.client.LineTooLong, match="header line"):
        head_of(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * MAX_LINE_BYTES + b"\r\n\r\n")


def test_more_header_fields_than_the_limit_fail() -> None:
    fields = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(http.client.HTTPException, match=f"got more than {MAX_HEADERS} headers"):
        head_of(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n")
    assert head_of(b"HTTP/1.1 200 OK\r\n" + fields[: fields.index(b"X-100")] + b"\r\n").status == 200


def test_a_head_past_its_byte_limit_fails_before_it_ends() -> None:
    line = b"X-Pad: " + b"a" * (MAX_LINE_BYTES - 100) + b"\r\n"
    lines = [line] * (MAX_HEAD_BYTES // len(line) + 2)  # each line allowed, not all of them
    received: list[int] = []
    recv = feed([b"HTTP/1.1 200 OK\r\n", *lines, b"\r\n"])

    def counting(most: int) -> bytes:
        data = recv(most)
        received.append(len(data))
        return data

    with pytest.raises(InvalidResponse, match=f"response head over {MAX_HEAD_BYTES} bytes"):
        read_head(Reader(counting))
    assert len(received) < len(lines) + 1  # stopped before reading the rest


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (b"X-A: 1\r\n  folded", "obsolete line folding in the response head"),
        (b"\tX-A: 1", "obsolete line folding in the response head"),
        (b"Content-Length : 4", "malformed header line 'Content-Length : 4'"),
        (b"NoColon", "malformed header line 'NoColon'"),
        (b": empty name", "malformed header line ': empty name'"),
        (b"X(A): 1", "malformed header line 'X(A): 1'"),
        (b"X-A: a\x00b", "a CR or NUL in header 'X-A'"),
        (b"X-A: a\rb", "a CR or NUL in header 'X-A'"),
    ],
)
def test_what_could_be_read_two_ways_is_refused(line: bytes, text: str) -> None:
    with pytest.raises(InvalidResponse) as raised:
        head_of(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")
    assert str(raised.value) == text


def test_a_long_line_is_quoted_short() -> None:
    with pytest.raises(InvalidResponse) as raised:
        head_of(b"HTTP/1.1 200 OK\r\n" + b"x" * 5000 + b"\r\n\r\n")
    assert len(str(raised.value)) < 80


def test_interim_responses_are_skipped() -> None:
    head = head_of(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" + OK)
    assert (head.status, head.get("Content-Length")) == (200, "4")


def test_more_interim_responses_than_the_limit_fail() -> None:
    interim = b"HTTP/1.1 102 Processing\r\n\r\n"
    assert head_of(interim * MAX_INTERIM_RESPONSES + OK).status == 200
    with pytest.raises(InvalidResponse, match="interim"):
        head_of(interim * (MAX_INTERIM_RESPONSES + 1) + OK)


def test_switching_protocols_is_a_final_answer() -> None:
    assert head_of(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").status == 101


def test_a_connection_closed_before_any_byte_is_a_remote_disconnect() -> None:
    with pytest.raises(http.client.RemoteDisconnected):
        head_of()


@pytest.mark.parametrize(
    "cut", [b"HTTP/1.1 2", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Type: te"]
)
def test_a_head_cut_short_is_an_error(cut: bytes) -> None:
    with pytest.raises(Truncated):
        head_of(cut)


def test_list_fields_are_read_as_their_elements() -> None:
    head = head_of(b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, ,CLOSE\r\nConnection: x\r\n\r\n")
    assert head.tokens(b"connection") == [b"keep-alive", b"close", b"x"]
