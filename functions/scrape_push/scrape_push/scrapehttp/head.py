"""A response's head as a target sends it (RFC 9112 sections 2 to 5): read from a connection a
bounded line at a time, checked strictly, without a regular expression.

Everything here is the target's: every line and the whole head are bounded, header names are
checked against RFC 9110's token characters by one ``bytes.translate`` (linear, no
backtracking), interim (1xx) responses are skipped up to a bound, and what would let a response
be read two ways (obsolete line folding, a bare CR or a NUL in a value, whitespace before the
colon) is refused rather than repaired.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Final

MAX_LINE_BYTES: Final = 65536
"""The longest status or header line (http.client's ``_MAXLINE``, what the requests path took;
Go's net/http bounds the head as a whole only)."""

MAX_HEADERS: Final = 100
"""Header fields a response may carry (http.client's ``_MAXHEADERS``: the requests path's
"got more than 100 headers")."""

MAX_HEAD_BYTES: Final = 1024 * 1024
"""The whole head, interim responses and trailers included: Go's ``http.DefaultMaxHeaderBytes``
(1 MiB; Go's client allows 10 MiB by ``MaxResponseHeaderBytes``, but one scrape's head is a few
hundred bytes, and 16 concurrent scrapes must not hold 160 MiB of headers)."""

MAX_INTERIM_RESPONSES: Final = 5
"""1xx responses skipped before the final one (Go's transport: ``max1xxResponses``)."""

READ_BYTES: Final = 64 * 1024
"""Bytes asked of the socket at a time (the body's pieces are at most this)."""

MAX_QUOTED: Final = 40
"""Characters of a target's line quoted in an error."""

TOKEN_BYTES: Final = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
"""RFC 9110 5.6.2 ``tchar``: a field name is one or more of these."""

KEPT_FIELDS: Final = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"content-encoding",
        b"content-type",
        b"location",
        b"retry-after",
    }
)
"""The fields a scrape or a sink reads; the others are checked and dropped."""


class InvalidResponse(http.client.HTTPException):
    """The target's answer breaks HTTP/1.1's grammar in a way that is refused, not repaired."""


class Truncated(InvalidResponse):
    """The connection ended inside a line of the head (or of a chunked body's framing)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"the connection ended inside the {what}")


def quoted(line: bytes) -> str:
    """A bounded, printable quote of a target's bytes for an error."""
    shown = line[:MAX_QUOTED].decode("latin-1")
    return repr(shown + ("..." if len(line) > MAX_QUOTED else ""))


class Reader:
    """A connection's bytes, read a bounded piece at a time: lines for the head (and a chunked
    body's size lines), exact runs for a body. ``received`` counts every byte that came."""

    __slots__ = ("_at", "_buffer", "_recv", "received")

    def __init__(self, recv: Callable[[int], bytes]) -> None:
        self._recv = recv
        self._buffer = bytearray()
        self._at = 0
        self.received = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not read yet (past a response's end: not a response of ours)."""
        return len(self._buffer) - self._at

    def _fill(self) -> bool:
        data = self._recv(READ_BYTES)
        if not data:
            return False
        if self._at:
            del self._buffer[: self._at]
            self._at = 0
        self._buffer += data
        self.received += len(data)
        return True

    def line(self, what: str, limit: int = MAX_LINE_BYTES) -> bytes | None:
        """The next line without its end (LF, or CRLF: RFC 9112 2.2 lets a recipient take a
        bare LF, as Go and http.client do); ``None`` when the connection ended before it began.
        ``http.client.LineTooLong`` past ``limit`` bytes."""
        searched = 0  # bytes after ``_at`` known to hold no LF (``_fill`` moves ``_at``)
        while True:
            end = self._buffer.find(b"\n", self._at + searched)
            if end >= 0:
                break
            searched = len(self._buffer) - self._at
            if searched > limit:
                raise http.client.LineTooLong(what)
            if not self._fill():
                if not searched:
                    return None
                raise Truncated(what)
        if end - self._at > limit:
            raise http.client.LineTooLong(what)
        line = bytes(self._buffer[self._at : end])
        self._at = end + 1
        return line[:-1] if line.endswith(b"\r") else line

    def block(self, most: int) -> list[bytes]:
        """The lines before the next empty one (a head's fields: one search for its end, then
        one split), their ends removed as ``line`` removes them; ``InvalidResponse`` when the
        empty line does not come within ``most`` bytes."""
        searched = 0
        while True:
            end = _empty_line(self._buffer, self._at, self._at + searched)
            if end >= 0 or len(self._buffer) - self._at > most:
                break
            searched = max(0, len(self._buffer) - self._at - 2)  # an empty line's bytes may come apart
            if not self._fill():
                raise Truncated("response head")
        if end < 0 or end - self._at > most:
            raise InvalidResponse(f"response head over {MAX_HEAD_BYTES} bytes")
        lines = bytes(self._buffer[self._at : end]).split(b"\n")
        self._at = end + 1
        return [line[:-1] if line.endswith(b"\r") else line for line in lines[:-1]]

    def starts(self, expected: bytes) -> bool:
        """Whether the next bytes are ``expected`` (read past them when they are)."""
        while len(self._buffer) - self._at < len(expected):
            if not self._fill():
                return False
        found = self._buffer.startswith(expected, self._at)
        self._at += len(expected) if found else 0
        return found

    def piece(self, most: int) -> bytes:
        """Up to ``most`` bytes (at least one); ``b""`` when the connection ended."""
        if self._at < len(self._buffer):
            end = min(len(self._buffer), self._at + most)
            found = bytes(self._buffer[self._at : end])
            self._at = end
            return found
        data = self._recv(min(most, READ_BYTES))
        self.received += len(data)
        return data


class Head:
    """A final response's status line and the fields a scrape reads (a field sent more than
    once has its values joined by ", ", as requests' headers join them)."""

    __slots__ = ("fields", "reason", "size", "status", "version")

    def __init__(
        self, version: int, status: int, reason: str, fields: dict[bytes, list[bytes]], size: int
    ) -> None:
        self.version = version
        """11 for HTTP/1.1, 10 for HTTP/1.0."""
        self.status = status
        self.reason = reason
        self.fields = fields
        """Lower-case names of ``KEPT_FIELDS`` -> their values in order."""
        self.size = size
        """Bytes of the head so far (the interim responses' included; trailers add to it)."""

    def get(self, name: str) -> str | None:
        values = self.fields.get(name.lower().encode())
        return None if values is None else ", ".join(value.decode("latin-1") for value in values)

    def tokens(self, name: bytes) -> list[bytes]:
        """A list-valued field's elements, lower case, empty ones left out (RFC 9110 5.6.1)."""
        found = []
        for value in self.fields.get(name, ()):
            for element in value.split(b","):
                token = element.strip(b" \t").lower()
                if token:
                    found.append(token)
        return found


def read_head(reader: Reader) -> Head:
    """The final response's head, interim (1xx but 101) responses skipped; ``RemoteDisconnected``
    when the connection ended before a byte of it (a kept connection the target had closed)."""
    size = interim = 0
    while True:
        line = reader.line("status line")
        if line is None:
            if reader.received:
                raise Truncated("response head")
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        version, status, reason = parse_status_line(line)
        size += len(line) + 2
        fields, size = read_fields(reader, size, keep=True)
        if 100 <= status < 200 and status != 101:  # RFC 9110 15.2: interim; 101 ends HTTP/1.1 here
            interim += 1
            if interim > MAX_INTERIM_RESPONSES:
                raise InvalidResponse(f"more than {MAX_INTERIM_RESPONSES} interim (1xx) responses")
            continue
        return Head(version, status, reason, fields, size)


def parse_status_line(line: bytes) -> tuple[int, int, str]:
    """``HTTP/1.x SP 3DIGIT [SP reason]`` (RFC 9112 4); http.client's exceptions for what it
    refused too (the requests path's messages)."""
    version, _, rest = line.partition(b" ")
    if not version.startswith(b"HTTP/"):
        raise http.client.BadStatusLine(line.decode("latin-1")[:MAX_LINE_BYTES])
    if version == b"HTTP/1.1":
        number = 11
    elif version == b"HTTP/1.0":
        number = 10
    else:
        raise http.client.UnknownProtocol(version.decode("latin-1"))
    code, _, reason = rest.partition(b" ")
    if len(code) != 3 or not code.isdigit() or code[0:1] == b"0":
        raise http.client.BadStatusLine(line.decode("latin-1"))
    return number, int(code), reason.decode("latin-1").strip()


def read_fields(reader: Reader, size: int, *, keep: bool) -> tuple[dict[bytes, list[bytes]], int]:
    """Header (or trailer) lines up to the empty line, checked, within ``MAX_HEADERS`` fields
    and ``MAX_HEAD_BYTES`` all told (``size``: what came before); the ``KEPT_FIELDS`` when
    ``keep``, and the new size."""
    lines = reader.block(MAX_HEAD_BYTES - size)
    if len(lines) > MAX_HEADERS:
        raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
    fields: dict[bytes, list[bytes]] = {}
    for line in lines:
        if len(line) > MAX_LINE_BYTES:
            raise http.client.LineTooLong("header line")
        size += len(line) + 2
        name, value = parse_field(line)
        if keep and name in KEPT_FIELDS:
            fields.setdefault(name, []).append(value)
    return fields, size + 2


def parse_field(line: bytes) -> tuple[bytes, bytes]:
    """``name ":" OWS value OWS`` (RFC 9112 5): the name lower case and the value trimmed."""
    if line[:1] in (b" ", b"\t"):
        # RFC 9112 5.2 lets a user agent unfold obs-fold; a 2020s exporter never sends one, and
        # a proxy in between might read the line otherwise: refused
        raise InvalidResponse("obsolete line folding in the response head")
    colon = line.find(b":")
    name = line[:colon]
    if colon <= 0 or name.translate(None, TOKEN_BYTES):  # no whitespace before the colon (5.1)
        raise InvalidResponse(f"malformed header line {quoted(line)}")
    value = line[colon + 1 :].strip(b" \t")
    if b"\r" in value or b"\0" in value:  # RFC 9110 5.5: refuse, or replace by SP
        raise InvalidResponse(f"a CR or NUL in header {quoted(name)}")
    return name.lower(), value


def _empty_line(buffer: bytearray, start: int, scanned: int) -> int:
    """Where the LF ending the first empty line at or after ``start`` is (-1: not yet come);
    the bytes before ``scanned`` were searched already."""
    if buffer.startswith(b"\n", start):
        return start
    if buffer.startswith(b"\r\n", start):
        return start + 1
    crlf = buffer.find(b"\n\r\n", scanned)
    # a bare LF's empty line only before it (``find`` of b"\n\n" is slow: not past the head)
    bare = buffer.find(b"\n\n", scanned, len(buffer) if crlf < 0 else crlf)
    if bare >= 0:
        return bare + 1
    return crlf + 2 if crlf >= 0 else -1
