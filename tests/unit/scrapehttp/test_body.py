"""A response's body framed as its head says, from hostile bytes: chunked sizes parsed strictly
with extensions and trailers bounded, ``Content-Length`` read one way only, chunked winning over
a length (RFC 9112 6.3), and a connection kept only when the body ended exactly."""

from __future__ import annotations

import http.client

import pytest
from scrape_push.scrapehttp.body import (
    MAX_CHUNK_LINE_BYTES,
    MAX_CHUNK_OVERHEAD,
    Body,
    IncompleteRead,
    InvalidHeader,
)
from scrape_push.scrapehttp.head import MAX_HEADERS, InvalidResponse, Reader, Truncated, read_head

from tests.unit.scrapehttp.test_head import feed


def body_of(response: bytes, *, split: int = 0) -> tuple[bytes, Body]:
    pieces = [response[i : i + split] for i in range(0, len(response), split)] if split else [response]
    reader = Reader(feed(pieces))
    body = Body(reader, read_head(reader))
    return b"".join(body.pieces()), body


def chunked(payload: bytes, *, head: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + head + b"\r\n" + payload


def test_a_length_framed_body_is_read_to_its_length_and_its_connection_kept() -> None:
    data, body = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n")
    assert (data, body.kept) == (b"a 1\n", True)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\n",
        b"HTTP/1.1 200 OK\r\n",  # no length: the body runs to the close
    ],
)
def test_a_connection_that_cannot_carry_the_next_request_is_not_kept(head: bytes) -> None:
    data, body = body_of(head + b"\r\na 1\n")
    assert (data, body.kept) == (b"a 1\n", False)


def test_bytes_after_the_body_leave_the_connection_unkept() -> None:
    # a second response smuggled behind the first: never read as the next scrape's answer
    extra = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil\n"
    data, body = body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n" + extra)
    assert (data, body.kept) == (b"a 1\n", False)


def test_a_body_is_not_kept_before_it_was_read_to_its_end() -> None:
    reader = Reader(feed([b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n"]))
    body = Body(reader, read_head(reader))
    assert body.kept is False


@pytest.mark.parametrize("values", [[b"4, 4"], [b"4", b"4"], [b" 4 ", b"4,4"]])
def test_the_same_length_sent_more_than_once_is_one_length(values: list[bytes]) -> None:
    head = b"".join(b"Content-Length: " + value + b"\r\n" for value in values)
    assert body_of(b"HTTP/1.1 200 OK\r\n" + head + b"\r\na 1\n")[0] == b"a 1\n"


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([b"4", b"5"], "Content-Length contained multiple unmatching values (4, 5)"),
        ([b"4, 5"], "Content-Length contained multiple unmatching values (4, 5)"),
        ([b"-4"], "invalid Content-Length '-4'"),
        ([b"+4"], "invalid Content-Length '+4'"),
        ([b"4x"], "invalid Content-Length '4x'"),
        ([b"0x4"], "invalid Content-Length '0x4'"),
        ([b""], "invalid Content-Length ''"),
        ([b"1" * 20], f"invalid Content-Length '{'1' * 20}'"),
    ],
)
def test_a_length_that_reads_more_than_one_way_fails(values: list[bytes], text: str) -> None:
    head = b"".join(b"Content-Length: " + value + b"\r\n" for value in values)
    with pytest.raises(InvalidHeader) as raised:
        body_of(b"HTTP/1.1 200 OK\r\n" + head + b"\r\na 1\n")
    assert str(raised.value) == text


def test_a_body_cut_short_says_how_much_came() -> None:
    with pytest.raises(IncompleteRead) as raised:
        body_of(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na 1\n")
    assert str(raised.value) == "IncompleteRead(4 bytes read, 96 more expected)"
    assert isinstance(raised.value, http.client.IncompleteRead)


@pytest.mark.parametrize("split", [0, 1, 3, 5])
def test_a_chunked_body_with_extensions_and_trailers_is_read_and_kept(split: int) -> None:
    payload = b"4;name=value;x\r\na 1\n\r\n09 \t;q\r\nb 2\nc 33\n\r\n0\r\nX-Trailer: 1\r\n\r\n"
    data, body = body_of(chunked(payload), split=split)
    assert (data, body.kept) == (b"a 1\nb 2\nc 33\n", True)


def test_chunked_wins_over_a_length_and_the_connection_is_not_kept() -> None:
    data, body = body_of(chunked(b"4\r\na 1\n\r\n0\r\n\r\n", head=b"Content-Length: 2\r\n"))
    assert (data, body.kept) == (b"a 1\n", False)


def test_a_transfer_coding_name_is_read_case_blind_and_trimmed() -> None:
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\t Chunked \r\n\r\n4\r\na 1\n\r\n0\r\n\r\n"
    assert body_of(response)[0] == b"a 1\n"


@pytest.mark.parametrize(
    "codings", [b"gzip", b"gzip, chunked", b"chunked, chunked", b"identity", b"xchunked"]
)
def test_a_transfer_coding_other_than_chunked_alone_fails(codings: bytes) -> None:
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: " + codings + b"\r\n\r\n4\r\na 1\n\r\n0\r\n\r\n"
    with pytest.raises(InvalidResponse, match="unsupported Transfer-Encoding"):
        body_of(response)


@pytest.mark.parametrize("line", [b"zz", b"-4", b" 4", b"0x4", b"", b";ext", b"4 4", b"1" * 17, b"\xff"])
def test_a_chunk_size_is_hex_digits_only(line: bytes) -> None:
    with pytest.raises(InvalidResponse, match="invalid chunk size line"):
        body_of(chunked(line + b"\r\na 1\n\r\n0\r\n\r\n"))


def test_a_chunk_size_of_16_hex_digits_is_read() -> None:
    assert body_of(chunked(b"0000000000000004\r\na 1\n\r\n0\r\n\r\n"))[0] == b"a 1\n"


def test_a_chunk_not_followed_by_a_line_end_fails() -> None:
    # the shape of a smuggling attempt: a size that disagrees with the data
    with pytest.raises(InvalidResponse, match="not followed by CRLF"):
        body_of(chunked(b"2\r\na 1\n\r\n0\r\n\r\n"))


def test_a_chunked_body_cut_short_fails() -> None:
    with pytest.raises(IncompleteRead):
        body_of(chunked(b"10\r\na 1\n"))
    with pytest.raises(Truncated):
        body_of(chunked(b"4\r\na 1\n\r\n"))
    with pytest.raises(Truncated):
        body_of(chunked(b"4\r\na 1\n\r\n0\r\nX-Trailer: 1\r\n"))


def test_a_chunk_size_line_past_its_limit_fails() -> None:
    with pytest.raises(http.client.LineTooLong):
        body_of(chunked(b"4;" + b"e" * MAX_CHUNK_LINE_BYTES + b"\r\na 1\n\r\n0\r\n\r\n"))


def test_tiny_chunks_with_long_extensions_fail_as_too_much_non_data() -> None:
    extension = b";" + b"e" * 1000
    enough = MAX_CHUNK_OVERHEAD // 1000 + 1
    with pytest.raises(InvalidResponse, match="too much non-data"):
        body_of(chunked((b"1" + extension + b"\r\na\r\n") * enough + b"0\r\n\r\n"))
    # one-byte chunks without extensions are data, whatever their number
    assert body_of(chunked(b"1\r\na\r\n" * 5000 + b"0\r\n\r\n"))[0] == b"a" * 5000


def test_trailers_are_bounded_as_a_head() -> None:
    trailers = b"".join(b"X-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
    with pytest.raises(http.client.HTTPException, match="headers"):
        body_of(chunked(b"0\r\n" + trailers + b"\r\n"))
    with pytest.raises(InvalidResponse, match="obsolete line folding"):
        body_of(chunked(b"0\r\nX-A: 1\r\n folded\r\n\r\n"))
