"""The parse stage's one error type."""

from __future__ import annotations


class ParseError(ValueError):
    """The exposition is invalid; ``line`` is 1-based when known, ``offset`` the byte offset in
    a binary body (protobuf).

    >>> str(ParseError('label name "x" is not unique', 3))
    'line 3: label name "x" is not unique'
    >>> str(ParseError("truncated varint", offset=12))
    'byte 12: truncated varint'
    """

    def __init__(self, reason: str, line: int | None = None, *, offset: int | None = None) -> None:
        self.reason = reason
        self.line = line
        self.offset = offset
        where = f"line {line}: " if line else f"byte {offset}: " if offset is not None else ""
        super().__init__(f"{where}{reason}")
