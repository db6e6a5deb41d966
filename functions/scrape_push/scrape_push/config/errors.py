"""Configuration errors: every message names the key path at fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration document, at one key path."""

    path: str
    message: str
    line: int | None = None
    document: str | None = None
    """The SSM parameter holding the fragment at fault, when the config spans several."""

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        prefix = f"{self.document}: " if self.document else ""
        return f"{prefix}{self.path or '<document>'}: {self.message}{where}"


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
    """Raised by a field parser or a ``check()`` method; the decoder adds the key path."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
