"""Comment lines: the ``# HELP``/``# TYPE``/``# UNIT`` block that samples are read under.

A sample belongs to the current block's family when its name is the family name plus a suffix
its type allows, else to a family of its own (``untyped`` in text 0.0.4, ``unknown`` in
OpenMetrics). Families are interned in a table the caller keeps (``Families``: the scrape stage's,
shared by its series caches), so an unchanged block is the very same object scrape after scrape
and known series can be checked against it with ``is``. The table also remembers what each run of
comment lines (all of them between two sample lines) read to, so that a run met before -- the
same target's last scrape, or another target's -- costs one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from itertools import islice, repeat
from operator import attrgetter, eq, is_, itemgetter
from typing import Final

from ..model import Family
from . import body, grammar
from .dialects import Dialect
from .errors import ParseError

RUN_OVERHEAD: Final = 160
"""Bytes a remembered run holds besides its text (its key's string header, its dict slot, the
pair it maps to: about 125 on CPython 3.11, measured with tracemalloc; rounded up), for
``Families.limit``."""
MIN_RUN_BYTES: Final = 1 << 20
"""What the runs of any table may hold, whatever the series it serves (``Families.bound``)."""
MEMBERS_MAX: Final = 4096
"""At most this many families' sample names are kept (``Families.members``), about 270 B each
(measured with tracemalloc): a node_exporter's 218 blocks take about 60 KB, and a target with a
family per series adds no more than about 1.1 MB to the table."""

_HEAD, _AFTER, _NAME = itemgetter(0), itemgetter(1), attrgetter("name")

Run = tuple[str, Family]
"""What a run of comment lines read to: the name of its first metadata line, and the block's
family after it."""

_NO_RUNS: Final[dict[str, Run]] = {}
"""The runs of a dialect the table holds none of (never written to)."""
_NO_MEMBERS: Final[dict[str, Family]] = {}
"""The sample names of no block (never written to)."""
_ABSENT: Final = (None, _NO_MEMBERS)
"""What ``Families.members_of`` finds for a block the memo does not hold."""


class Families(dict[Family, Family]):
    """The interned families (one object per distinct family), and what runs of comment lines
    read to, by dialect and run text (``runs``), for at most ``limit`` bytes (``held``).

    Only a run that read without an error is remembered, and every family a run read to is in
    the table: emptied, the table forgets the runs too."""

    __slots__ = ("held", "limit", "memo", "runs")

    def __init__(self, limit: int = MIN_RUN_BYTES) -> None:
        super().__init__()
        self.runs: dict[str, dict[str, Run]] = {}
        self.held = 0
        """What ``runs`` holds, in characters of text plus ``RUN_OVERHEAD`` per run."""
        self.limit = limit
        """How much ``runs`` may hold (set by the table's owner, ``bound``)."""
        self.memo: dict[int, tuple[Family, dict[str, Family]]] = {}
        """The sample names of families' blocks, by the family's ``id`` (``members``)."""

    def copy(self) -> Families:
        """A copy that the parse of a cache with a table of its own fills (a failed parse leaves
        the cache's as it was)."""
        copied = Families(self.limit)
        copied.update(self)
        copied.runs = {dialect: dict(runs) for dialect, runs in self.runs.items()}
        copied.held = self.held
        copied.memo = dict(self.memo)
        return copied

    def clear(self) -> None:
        super().clear()
        self.runs, self.held, self.memo = {}, 0, {}

    def members(self, family: Family | None) -> dict[str, Family]:
        """The sample names that belong to the block of ``family`` (``None``: before any block),
        each mapped to it: made once a family, for up to ``MEMBERS_MAX`` of them (by identity:
        an equal family is another block)."""
        if family is None:
            return _NO_MEMBERS
        found = self.memo.get(id(family))
        if found is not None and found[0] is family:
            return found[1]
        members = dict.fromkeys(_member_names(family), family)
        if len(self.memo) < MEMBERS_MAX:
            self.memo[id(family)] = (family, members)  # (which keeps its id from being reused)
        return members

    def members_of(self, blocks: list[Family | None]) -> list[dict[str, Family]]:
        """``members`` of each of ``blocks``: in C-level passes over the memo when it holds them
        all (a fleet's later targets: their blocks are the table's families), else one by one."""
        found = list(map(self.memo.get, map(id, blocks), repeat(_ABSENT)))
        if all(map(is_, map(_HEAD, found), blocks)):  # ``None`` (before any block) is absent
            return list(map(_AFTER, found))
        return list(map(self.members, blocks))

    def bound(self, limit: int) -> None:
        """Let the runs hold ``limit`` bytes from now on; forget them all if they had reached
        the limit before (runs of help texts that keep changing pile up)."""
        if self.held >= self.limit:
            self.runs, self.held = {}, 0
        self.limit = limit

    def remember(self, dialect: str, run: str, read: Run) -> None:
        """Remember what ``run`` read to, unless the runs have reached their limit (which one
        run, at most a chunk of text, may pass)."""
        if self.held < self.limit:
            self.runs.setdefault(dialect, {})[run] = read
            self.held += len(run) + RUN_OVERHEAD


class Metadata:
    """The metadata state of one parse, across its chunks."""

    def __init__(self, dialect: Dialect, families: Families, strict: bool = False) -> None:
        self.dialect = dialect
        self.strict = strict
        """Refuse a ``# TYPE`` that contradicts an earlier one or follows samples of its family
        (Prometheus 2.42 accepts both: the last one read applies from there on)."""
        self.families = families
        """The interned families: one object per distinct family (what the caller gave the
        parse, with what the parse adds)."""
        self.context: Family | None = None
        """The current block's family (``None`` before the first block)."""
        self._members: tuple[Family | None, dict[str, Family]] = (None, {})
        self.typed: dict[str, str] = {}
        self.names: dict[str, Family] = {}
        """The family each sample name read so far was given (see ``read``)."""

    @property
    def runs(self) -> dict[str, Run]:
        """What the runs of comment lines the table remembers in this dialect read to."""
        return self.families.runs.get(self.dialect.name, _NO_RUNS)

    @property
    def members(self) -> dict[str, Family]:
        """Sample names that belong to the current block (made when a new series needs them:
        a warm parse never does; kept per family by the table, and here for the current one)."""
        context, members = self._members
        if context is not self.context:
            context = self.context
            members = self.families.members(context)
            self._members = context, members
        return members

    def family(self, name: str) -> Family:
        """The family of a sample called ``name`` under the current block."""
        family = self.members.get(name)
        return self.own_family(name) if family is None else family

    def own_family(self, name: str) -> Family:
        """The family of a sample called ``name`` outside the block of its family."""
        return self._intern(Family(name, self.dialect.default_type))

    def read(self, names: Iterable[str], families: Iterable[Family]) -> None:
        """Note the families samples called ``names`` were given, in line order, so that a
        later ``# TYPE`` can be checked against them (``strict`` only)."""
        if self.strict:
            self.names.update(zip(names, families, strict=True))

    def comments(self, lines: list[str], run: str, number: int) -> None:
        """Apply a run of comment lines of a valid UTF-8 chunk, each starting with ``#``
        (``run`` is them joined; the first is line ``number``): as the table remembers it when
        it read it before, else line by line (and then remembered).

        What a run reads to depends on the block before it only when its first metadata line
        names that block's family, so that is the one case where it is read line by line every
        time. In ``strict`` mode its TYPE lines are checked against this parse's state again."""
        dialect = self.dialect.name
        known = self.families.runs.get(dialect)
        read = known.get(run) if known is not None else None
        context = self.context
        if read is not None and (context is None or context.name != read[0]):
            if self.strict:
                self._check_types(lines, number)
            self.context = read[1]
            return
        head: str | None = None
        for offset, line in enumerate(lines):
            found = self.comment(line, number + offset)
            if head is None and found is not None:
                head = found[1]
        if head is not None and (context is None or context.name != head):
            self.families.remember(dialect, run, (head, self.context))  # type: ignore[arg-type]

    def after(self, runs: list[str]) -> list[Family] | None:
        """The block's family after each of ``runs`` of comment lines, read one after the other
        from the current block, when ``comments`` would apply every one of them as what the
        table remembers (it read each before, and none has a first metadata line that names the
        family of the block before it); else ``None``. In C-level passes; changes nothing."""
        reads = list(map(self.runs.get, runs))
        if None in reads:
            return None
        heads, afters = list(map(_HEAD, reads)), list(map(_AFTER, reads))  # type: ignore[arg-type]
        context = self.context
        if heads and context is not None and context.name == heads[0]:
            return None
        if any(map(eq, map(_NAME, afters), islice(heads, 1, None))):
            return None
        return afters

    def comment(self, line: str, number: int, valid: bool = True) -> grammar.Comment | None:
        """Apply comment ``line`` (line ``number``), which starts with ``#``; unless ``valid``,
        its chunk has bytes that are not UTF-8 (Prometheus refuses them in HELP text, and
        elsewhere they make the line invalid; a plain comment may hold them). Returns the
        metadata line it is, if it is one."""
        found = self.dialect.comment(line, number)
        if found is not None:
            # 2.42 checks the name and text it read (in text 0.0.4 it skips the byte between them)
            if not valid and (body.INVALID_UTF8.search(found[1]) or body.INVALID_UTF8.search(found[2])):
                raise ParseError(f"{found[0]} line is not valid UTF-8", number)
            self._block(*found, number)
        return found

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
        self.context = self._intern(context)

    def _check_types(self, lines: list[str], number: int) -> None:
        """``_check_type`` for each TYPE line of a remembered run (its other checks passed when
        it was read), in line order."""
        for offset, line in enumerate(lines):
            found = self.dialect.comment(line, number + offset)
            if found is not None and found[0] == "TYPE":
                self._check_type(found[1], found[2], number + offset)

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


def _member_names(family: Family) -> list[str]:
    return [family.name + suffix for suffix in grammar.SUFFIXES[family.type]]
