"""A scrape body cut into chunks of whole lines, each decoded on its own.

Whatever the parser builds per line (the lines, their cut points, cache lookups) lives only as
long as its chunk, so the transient memory of a parse is bounded by ``CHUNK_BYTES`` and not by
the body. The checks that concern the whole body run first, in linear C-level passes over the
bytes: where the OpenMetrics ``# EOF`` is (a missing or misplaced one fails the parse after the
chunks before it), and with ``strict`` invalid UTF-8 anywhere. Otherwise invalid UTF-8 is an
error only where Prometheus checks it (label values, HELP text, quoted names): a chunk that has
some is decoded with ``surrogateescape``, and the parser looks for the escaped bytes there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from .dialects import Dialect
from .errors import ParseError

CHUNK_BYTES: Final = 64 * 1024
"""Text per chunk (more for a longer line). The per-chunk work is a few C-level passes, so the
split costs nothing measurable; a chunk's lists stay a few MB (docs/parser.md)."""

INVALID_UTF8: Final = re.compile("[\udc80-\udcff]")
"""A byte that is not UTF-8, as ``surrogateescape`` decodes it."""

_EOF: Final = b"# EOF"
_NEWLINE: Final = 10


def chunks(data: bytes, dialect: Dialect, strict: bool) -> Iterator[tuple[int, int, bool]]:
    """``[start, stop)`` of each chunk of whole lines in ``data``, and whether it is the last;
    in OpenMetrics the ``# EOF`` line is left out. With ``strict``, invalid UTF-8 raises
    ``ParseError`` before the first chunk; a missing or misplaced ``# EOF`` raises it after the
    chunks before it, which Prometheus's streaming parser reads (and counts) first."""
    if strict:
        _check_utf8(data)
    fault = None
    if dialect.ends_with_eof:
        end, fault = _eof_line(data)
    else:
        end = len(data) if strict else _nul_line(data)
    for start, stop in _spans(data, end):
        yield start, stop, stop == end
    if fault is not None:
        raise fault


def decode(data: memoryview, start: int, stop: int) -> tuple[str, bool]:
    """A chunk's text, and whether it is valid UTF-8 (if not, each invalid byte is a lone
    surrogate, ``INVALID_UTF8``)."""
    try:
        return str(data[start:stop], "utf-8"), True
    except UnicodeDecodeError:
        return str(data[start:stop], "utf-8", "surrogateescape"), False


def lines(text: str, last: bool) -> list[str]:
    """A chunk's lines (the body's final newline, at the end of the ``last`` chunk, ends a line:
    it starts none)."""
    found = text.split("\n")
    if last and found[-1] == "":
        found.pop()
    return found


def _spans(data: bytes, end: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` of each chunk of ``data[:end]``, cut at newlines (which no chunk holds)."""
    start = 0
    while start < end:
        stop = data.find(b"\n", start + CHUNK_BYTES - 1, end)
        if stop < 0:
            stop = end
        yield start, stop
        start = stop + 1


def _nul_line(data: bytes) -> int:
    """Where the line starts in which Prometheus 2.42's text lexer meets a NUL byte between
    tokens, else the end: it reads one there as the end of the body and ignores what follows.
    That is a NUL after only blanks, in a comment whose ``#`` no blank follows, or right after a
    ``#`` and its blanks (a NUL later in a ``# `` comment, a HELP text or a label value is
    skipped). Only the first NUL of each line is looked at, so this is one pass."""
    at = data.find(b"\0")
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        before = data[start:at].lstrip(b" \t")
        if not before or (
            before.startswith(b"#") and (before[1:2] not in {b" ", b"\t"} or before.rstrip() == b"#")
        ):
            return start
        end = data.find(b"\n", at)
        at = -1 if end < 0 else data.find(b"\0", end)
    return len(data)


def _check_utf8(data: bytes) -> None:
    if data.isascii():
        return
    view = memoryview(data)
    for start, stop in _spans(data, len(data)):
        try:
            str(view[start:stop], "utf-8")
        except UnicodeDecodeError as exc:
            at = start + exc.start
            raise ParseError(f"invalid UTF-8 at byte {at}", data.count(b"\n", 0, at) + 1) from None


def _eof_line(data: bytes) -> tuple[int, ParseError | None]:
    """Where the lines to parse end: at the final ``# EOF`` line, else at the first ``# EOF``
    line or the end, with the error the body then is."""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    last = data.rfind(b"\n", 0, end) + 1
    if end - last == len(_EOF) and data.startswith(_EOF, last):
        return last, None
    if data.startswith(b"# E", last) and data[last:end].replace(b"\0", b"") == _EOF:
        return last, None  # 2.42's lexer skips NULs inside the keyword (docs/parser.md, NUL bytes)
    found = data.find(_EOF + b"\n")
    while found > 0 and data[found - 1] != _NEWLINE:
        found = data.find(_EOF + b"\n", found + 1)
    if found >= 0:
        return found, ParseError("unexpected data after # EOF", data.count(b"\n", 0, found) + 2)
    lines = data.count(b"\n", 0, end) + 1 if end else 0
    # a last line without its newline never ends for Prometheus's lexer: it is not read
    return last if end == len(data) else len(data), ParseError("data does not end with # EOF", lines or 1)
