"""The parse stage's one error type."""

from __future__ import annotations

from typing import Any


class ParseError(ValueError):
    """The exposition is invalid; ``line`` is 1-based when known, ``offset`` the byte offset in
    a binary body (protobuf).

    >>> str(ParseError('label name "x" is not unique', 3))
    'line 3: label name "x" is not unique'
    >>> str(ParseError("truncated varint", offset=12))
    'byte 12: truncated varint'
    """

    partial: Any = None
    """The ``Chunk`` of the sample lines before the error in the chunk that failed (the parser
    sets it), for the failed scrape's counts as Prometheus reports them."""
    appended: bool = False
    """The line at fault is one Prometheus's parser reads and its appender refuses (a repeated
    label name, a name its validity check refuses): it counts as scraped."""

    def __init__(
        self, reason: str, line: int | None = None, *, appended: bool = False, offset: int | None = None
    ) -> None:
        self.reason = reason
        self.line = line
        self.appended = appended
        self.offset = offset
        where = f"line {line}: " if line else f"byte {offset}: " if offset is not None else ""
        super().__init__(f"{where}{reason}")
