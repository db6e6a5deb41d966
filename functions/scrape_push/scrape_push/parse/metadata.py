"""Comment lines: the ``# HELP``/``# TYPE``/``# UNIT`` block that samples are read under.

A sample belongs to the current block's family when its name is the family name plus a suffix
its type allows, else to a family of its own (``untyped`` in text 0.0.4, ``unknown`` in
OpenMetrics). Families are interned in a table the caller keeps (the scrape stage's series
cache), so an unchanged block is the very same object scrape after scrape and known series can
be checked against it with ``is``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..model import Family
from . import body, grammar
from .dialects import Dialect
from .errors import ParseError


class Metadata:
    """The metadata state of one parse, across its chunks."""

    def __init__(self, dialect: Dialect, families: dict[Family, Family], strict: bool = False) -> None:
        self.dialect = dialect
        self.strict = strict
        """Refuse a ``# TYPE`` that contradicts an earlier one or follows samples of its family
        (Prometheus 2.42 accepts both: the last one read applies from there on)."""
        self.families = families
        """The interned families: one object per distinct family (what the caller gave the
        parse, with what the parse adds)."""
        self.context: Family | None = None
        """The current block's family (``None`` before the first block)."""
        self.members: dict[str, Family] = {}
        """Sample names that belong to the current block."""
        self.typed: dict[str, str] = {}
        self.names: dict[str, Family] = {}
        """The family each sample name read so far was given (see ``read``)."""

    def family(self, name: str) -> Family:
        """The family of a sample called ``name`` under the current block."""
        family = self.members.get(name)
        if family is None:
            family = self._intern(Family(name, self.dialect.default_type))
        return family

    def read(self, names: Iterable[str], families: Iterable[Family]) -> None:
        """Note the families samples called ``names`` were given, in line order, so that a
        later ``# TYPE`` can be checked against them (``strict`` only)."""
        if self.strict:
            self.names.update(zip(names, families, strict=True))

    def comment(self, line: str, number: int, valid: bool = True) -> None:
        """Apply comment ``line`` (line ``number``), which starts with ``#``; unless ``valid``,
        its chunk has bytes that are not UTF-8 (Prometheus refuses them in HELP text, and
        elsewhere they make the line invalid; a plain comment may hold them)."""
        found = self.dialect.comment(line, number)
        if found is not None:
            # 2.42 checks the name and text it read (in text 0.0.4 it skips the byte between them)
            if not valid and (body.INVALID_UTF8.search(found[1]) or body.INVALID_UTF8.search(found[2])):
                raise ParseError(f"{found[0]} line is not valid UTF-8", number)
            self._block(*found, number)

    def _intern(self, family: Family) -> Family:
        return self.families.setdefault(family, family)

    def _block(self, kind: str, name: str, text: str, number: int) -> None:
        context = self.context
        if context is None or context.name != name:
            context = Family(name, self.dialect.default_type)
        if kind == "TYPE":
            if text not in self.dialect.types:
                raise ParseError(f"invalid metric type {text[:40]!r}", number)
            if self.strict:
                self._check_type(name, text, number)
            context = replace(context, type=text)  # type: ignore[arg-type]
        elif kind == "HELP":
            context = replace(context, help=grammar.unescape_help(text, self.dialect.help_quotes))
        else:
            if text and (not name.endswith(text) or name[-len(text) - 1 : -len(text)] != "_"):
                raise ParseError(f"unit {text[:40]!r} is not a suffix of metric {name!r}", number)
            context = replace(context, unit=text)
        self.context = context = self._intern(context)
        self.members = {name + suffix: context for suffix in grammar.SUFFIXES[context.type]}

    def _check_type(self, name: str, type_: str, number: int) -> None:
        """Refuse a TYPE line that contradicts an earlier one, or that comes after samples of
        its family which were therefore read as another family (stricter than Prometheus)."""
        earlier = self.typed.setdefault(name, type_)
        if earlier != type_:
            raise ParseError(f"TYPE {type_} for {name!r} conflicts with its earlier TYPE {earlier}", number)
        for suffix in grammar.SUFFIXES[type_]:  # type: ignore[index]
            family = self.names.get(name + suffix)
            if family is not None and (family.name != name or family.type != type_):
                raise ParseError(
                    f"TYPE line for {name!r} comes after its sample "
                    f"{name + suffix!r} (read as {family.type})",
                    number,
                )
