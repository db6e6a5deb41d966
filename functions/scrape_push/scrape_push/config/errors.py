"""Configuration errors: every message names the key path at fault."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration document, at one key path."""

    path: str
    message: str
    line: int | None = None
    document: str | None = None
    """The SSM parameter holding the fragment at fault, when the config spans several."""
    column: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            column = f", column {self.column}" if self.column is not None else ""
            where = f" (line {self.line}{column})"
        prefix = f"{self.document}: " if self.document else ""
        return _one_line(f"{prefix}{self.path or '<document>'}: {self.message}{where}")


class ConfigWarning(Problem):
    """A key the document sets that is accepted but has no effect here (the message says why):
    the configuration is valid, and the warning is shown by ``validate``, in the invocation's
    summary and in the log."""


def _one_line(text: str) -> str:
    """A message quoting the document's own text stays one line (a key may hold a newline)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every error found, in document order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        super().__init__(f"{head}: " + "; ".join(str(p) for p in problems))


class ConfigLoadError(Exception):
    """The configuration could not be fetched (missing parameter, access denied, ...)."""


class FieldError(ValueError):
    """Raised by a field parser or a ``check()`` method; the decoder adds the key path.

    ``key`` is relative to the object checked; ``first``, for a duplicate, is the (relative) key
    of the first occurrence, which the decoder names with its line.
    """

    def __init__(self, message: str, key: str | None = None, first: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.first = first


class FieldErrors(FieldError):
    """Several problems one ``check()`` found (raised by ``raise_all``)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def raise_all(errors: Iterable[FieldError]) -> None:
    """Raise every problem of a ``check()`` at once (nothing when there is none)."""
    found = list(errors)
    if len(found) == 1:
        raise found[0]
    if found:
        raise FieldErrors(found)
