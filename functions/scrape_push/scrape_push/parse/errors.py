"""The parse stage's one error type."""

from __future__ import annotations


class ParseError(ValueError):
    """The exposition is invalid; ``line`` is 1-based when known.

    >>> str(ParseError('label name "x" is not unique', 3))
    'line 3: label name "x" is not unique'
    """

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line else reason)
