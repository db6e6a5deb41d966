"""Where a response's body ends (RFC 9112 6.3) and its bytes as they come, a bounded piece at a
time: ``Transfer-Encoding: chunked`` (sizes parsed strictly, extensions and trailers bounded),
``Content-Length``, or the connection's close.

The connection may carry the next scrape only when the body was read exactly to its end, the
framing was unambiguous (a length or chunked, not both), HTTP/1.1 without ``Connection: close``,
and nothing followed the body.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Final

from .head import READ_BYTES, Head, InvalidResponse, Reader, Truncated, quoted, read_fields

MAX_CHUNK_LINE_BYTES: Final = 4096
"""A chunk's size line with its extensions (Go's ``internal/chunked`` ``maxLineLength``)."""

MAX_CHUNK_SIZE_DIGITS: Final = 16
"""Hex digits of a chunk size: 64 bits (Go: "http chunk length too large" beyond)."""

MAX_CHUNK_OVERHEAD: Final = 16 * 1024
"""Bytes of framing (size lines, extensions, line ends) a chunked body may send beyond 16 plus
twice each chunk's size before it is refused (Go's ``chunkedReader``: "chunked encoding
contains too much non-data"): tiny chunks with long extensions would cost CPU for no data."""

MAX_LENGTH_DIGITS: Final = 19
"""Digits of a ``Content-Length``: 63 bits (Go's ``parseContentLength``)."""

MAX_SHOWN_LENGTHS: Final = 80
"""Characters of conflicting ``Content-Length`` values quoted in the error."""

HEX_DIGITS: Final = b"0123456789abcdefABCDEF"
DIGITS: Final = b"0123456789"


class InvalidHeader(InvalidResponse):
    """A framing field that cannot be read one way only (its name: the requests path's)."""


class IncompleteRead(http.client.IncompleteRead):
    """The connection ended inside a body of known size (http.client's own, and its message,
    without holding the bytes read)."""

    def __init__(self, read: int, expected: int) -> None:
        super().__init__(b"", expected)
        self.read = read

    def __repr__(self) -> str:
        return f"IncompleteRead({self.read} bytes read, {self.expected} more expected)"

    __str__ = __repr__


class Body:
    """A final response's body, framed as its head says (``pieces``); ``kept`` once it was read
    exactly to its end on a connection that may carry the next request."""

    __slots__ = ("_chunked", "_head", "_length", "_reader", "_reusable", "ended")

    def __init__(self, reader: Reader, head: Head) -> None:
        self._reader = reader
        self._head = head
        self._chunked, self._length, framed = framing(head)
        self._reusable = framed and head.version == 11 and b"close" not in head.tokens(b"connection")
        self.ended = False

    @property
    def kept(self) -> bool:
        return self.ended and self._reusable and not self._reader.buffered

    def pieces(self) -> Iterator[bytes]:
        if self._chunked:
            yield from self._chunks()
        elif self._length is not None:
            yield from self._exactly(self._length)
        else:  # RFC 9112 6.3 item 8: the body runs to the close
            while piece := self._reader.piece(READ_BYTES):
                yield piece
        self.ended = True

    def _exactly(self, size: int) -> Iterator[bytes]:
        left = size
        while left:
            piece = self._reader.piece(left)
            if not piece:
                raise IncompleteRead(size - left, left)
            left -= len(piece)
            yield piece

    def _chunks(self) -> Iterator[bytes]:
        reader, excess = self._reader, 0
        while True:
            line = reader.line("chunk size line", MAX_CHUNK_LINE_BYTES)
            if line is None:
                raise Truncated("chunked body")
            size = chunk_size(line)
            excess = max(0, excess + len(line) + 4 - 16 - 2 * size)  # the line and two CRLF
            if excess > MAX_CHUNK_OVERHEAD:
                raise InvalidResponse("chunked encoding contains too much non-data")
            if not size:
                break
            yield from self._exactly(size)
            if not reader.starts(b"\r\n"):  # exactly, as Go's chunked reader: no bare LF here
                raise InvalidResponse("a chunk's data is not followed by CRLF")
        read_fields(reader, self._head.size, keep=False)  # the trailers, bounded as the head


def framing(head: Head) -> tuple[bool, int | None, bool]:
    """(chunked, length, unambiguous) of a 200 response's body (RFC 9112 6.3)."""
    lengths = head.fields.get(b"content-length")
    if b"transfer-encoding" in head.fields:
        codings = head.tokens(b"transfer-encoding")
        if codings != [b"chunked"]:  # Go's transport refuses any other transfer coding
            raise InvalidResponse(f"unsupported Transfer-Encoding {quoted(b', '.join(codings))}")
        return True, None, lengths is None  # item 3: chunked wins, and the connection is not kept
    if lengths is None:
        return False, None, False
    return False, content_length(lengths), True


def content_length(values: list[bytes]) -> int:
    """One length from every ``Content-Length`` value: its elements all the same (RFC 9110
    8.6 lets a recipient take "42, 42"), each a decimal number."""
    elements = {element.strip(b" \t") for value in values for element in value.split(b",")}
    if len(elements) > 1:
        shown = b", ".join(values)[:MAX_SHOWN_LENGTHS].decode("latin-1")
        raise InvalidHeader(f"Content-Length contained multiple unmatching values ({shown})")
    (element,) = elements
    if not element or len(element) > MAX_LENGTH_DIGITS or element.translate(None, DIGITS):
        raise InvalidHeader(f"invalid Content-Length {quoted(element)}")
    return int(element)


def chunk_size(line: bytes) -> int:
    """A chunk's size: 1 to 16 hex digits, then optional whitespace and extensions (RFC 9112
    7.1.1 ``BWS ";" ...``; extensions are ignored)."""
    digits = line.partition(b";")[0].rstrip(b" \t")
    if not digits or len(digits) > MAX_CHUNK_SIZE_DIGITS or digits.translate(None, HEX_DIGITS):
        raise InvalidResponse(f"invalid chunk size line {quoted(line)}")
    return int(digits, 16)
