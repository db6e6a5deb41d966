"""The line loop of both text formats: bulk work for known series, careful work for the rest.

A scrape body is parsed chunk by chunk (``body.chunks``: whole lines, about ``CHUNK_BYTES`` of
text each), and each ``Chunk`` is handed on before the next is read. In a chunk, every line is
cut at its last space (C-level ``map``) into what would be a series text and a value, and the
series texts are looked up in the caller's mapping of known series in one pass. Runs of
consecutive known series (everything between two comment lines, on a warm scrape) need one
``float()`` each and no label work at all. New series of the plain shape ``name{a="1"} v`` are
validated by one regex per run and handed on as label-set shapes and values; every other line
-- comments, timestamps, exemplars, anything odd -- goes through ``_line``, which applies the
full grammar and reports the line number. Errors come in line order, whatever the caller knew.
Where the scan kernel is built (``_KERNEL``, docs/native.md), one C pass over a chunk's text
does the passes of ``_scan``, and a chunk every sample line of which is known is read without
being split into lines; this module's Python code is its reference and fallback.

What outlives a chunk: the metadata state (``metadata.Metadata``), the shapes validated and
where the kernel expects the next known series (``_Scan.position``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, compress, islice, repeat
from operator import is_, itemgetter, methodcaller, not_
from typing import Final, Generic, NamedTuple, cast

from .. import native
from ..model import Exemplar, Family
from . import body, grammar
from .chunk import (
    KNOWN_CONTEXT,
    KNOWN_FAMILY,
    KNOWN_NAME,
    Chunk,
    K,
    NewSeries,
    PlainTexts,
    Repeated,
    add_positions,
    shape_labels,
)
from .dialects import Dialect
from .errors import ParseError
from .metadata import Families, Metadata

_RPARTITION: Final = methodcaller("rpartition", " ")
_KEY, _VALUE = itemgetter(0), itemgetter(2)
_NAME, _FAMILY, _CONTEXT = itemgetter(KNOWN_NAME), itemgetter(KNOWN_FAMILY), itemgetter(KNOWN_CONTEXT)

_SPECIAL: Final = methodcaller("startswith", ("#", " ", "\t"))
_FIRST: Final = itemgetter(slice(0, 1))
_SPECIAL_FIRST: Final = frozenset({"#", " ", "\t", ""})
"""How a line that is not a sample line starts (``_SPECIAL``, or it is blank)."""
_EXEMPLAR_SUFFIXES: Final = ("_total", "_bucket")
"""The sample names that may carry an exemplar: a counter's ``_total`` and a histogram's
``_bucket`` (OpenMetrics 1.0, and Prometheus 2.42: later versions allow them on any)."""
_BLANK_START: Final = methodcaller("startswith", (" ", "\t"))
_PARTITION_BRACE: Final = methodcaller("partition", "{")
_BODY: Final = itemgetter(slice(0, -1))
_MIDDLE: Final = itemgetter(1)
_COMMENT_RUNS: Final = re.compile(rb"(\x01++)")
"""A run of comment lines in a chunk's lines' flags (``bytes`` of ``special``), kept by
``split``: the runs of sample lines between them are the other pieces."""

_KERNEL: Final = native.load("scan", 2)
"""The compiled passes (``native/scan.c``) of ``_scan``, ``_Parse._blocks``,
``_plain_label_sets`` and ``newlines``, or ``None``: these functions then do them (docs/native.md)."""

PLAIN_TEXTS_MAX: Final = 16_384
"""At most this many series texts are remembered per dialect (``PlainTexts``): about 4 MB, for
the series one cycle's targets expose alike (a fleet of one exporter's targets has as many as
one target has series)."""


_Placed = tuple[list[Family], list[Family | None], int]
"""The families and blocks of a cold chunk's sample lines, and how many runs of them it has."""


class _Scan(NamedTuple, Generic[K]):
    """A chunk's lines as its bulk paths read them (``_scan``, or the kernel's ``scan`` of its
    text), in exposition order."""

    lines: int
    special: bytes
    """A byte a line: 1 for a line that is not a sample line (blank, or starting with ``#``, a
    space or a tab: ``_SPECIAL_FIRST``), else 0."""
    keys: list[str]
    """Each sample line's series text (all before its last space)."""
    values: list[float | str]
    """Each sample line's value text (after its last space), or where the kernel read it (all
    but those at ``odd``) the float Prometheus reads it as."""
    odd: Sequence[int]
    """Where ``values`` holds a text."""
    hits: list[K | None]
    """Each series text's entry in the known series, or ``None``."""
    missing: int
    """How many ``hits`` are ``None``."""
    comments: tuple[list[str], int] | None
    """Each run of lines that are not sample lines, joined, and their characters (the
    kernel's); ``None``: for ``_comment_runs`` to make where they are needed."""
    sample_chars: int
    """The characters of the sample lines."""
    position: int
    """Where in the known series' order the kernel expects the next chunk's first known series
    (a hint for its next ``scan``, which then compares a series text with the one it expects
    instead of looking it up; 0 from ``_scan``)."""


class _Parse(Generic[K]):
    """One parse of one exposition (state for a single call)."""

    def __init__(
        self,
        dialect: Dialect,
        known: Mapping[str, K],
        families: Families,
        strict: bool,
        texts: dict[str, PlainTexts] | None,
    ) -> None:
        self.dialect = dialect
        self.known = known
        self.texts = None if texts is None else texts.setdefault(dialect.name, {})
        """The plain series texts earlier parses in this dialect validated (``PlainTexts``)."""
        self.strict = strict
        """Refuse what Prometheus 2.42 accepts but the format specs do not (docs/parser.md)."""
        self.valid = True
        """Whether the current chunk is valid UTF-8 (else its lines are all read carefully)."""
        self.metadata = Metadata(dialect, families, strict)
        self.shapes: set[str] = set()
        """Label-set shapes validated by this parse."""
        self.first = 1
        """The number of the current chunk's first line."""
        self.stop = 0
        """Where the text of the chunk being read ends in the body."""
        self.nuls = False
        """Whether the body holds a NUL byte (and is not read ``strict``)."""
        self.last = False
        """Whether the chunk being read ends the body."""
        self.position = 0
        """Where the kernel expects the next chunk's known series (``_Scan.position``)."""
        self.trailing = dialect.plain.fullmatch('a{b="c",} 1') is not None
        """Whether the dialect's plain label sets may end with a comma (text 0.0.4's do)."""
        self._start([])

    def _start(self, lines: list[str]) -> None:
        """Begin a chunk (or, with no lines, forget the last one while the caller has it)."""
        self.lines = lines
        self.chunk: Chunk[K] = Chunk()
        self.labels_memo: dict[str, list[tuple[str, str]]] = {}
        self.built_chars = self.comment_chars = 0
        """For the budget: the text of the new label sets, and of the comment lines (the rest of
        the chunk's text is kept, as the keys of the series seen)."""

    def chunks(self, data: bytes) -> Iterator[Chunk[K]]:
        view = memoryview(data)
        spans = body.chunks(data, self.dialect, self.strict)
        self.nuls = not self.strict and b"\0" in data
        for span in spans:
            text, lines, valid = self._decode(view, span)
            before = self.metadata.context
            first, self.stop, self.last = self.first, span[1], span[2]
            try:
                try:
                    chunk = self._chunk(text, lines, valid)
                except ParseError:
                    self.metadata.context = before
                    lines = body.lines(text, span[2]) if lines is None else lines
                    if not self.dialect.lenient_lines or self.strict:
                        # line by line, so that the error holds the lines before it
                        chunk = self._chunk(text, lines, False)
                    else:
                        chunk = self._rejoined(view, spans, span[2], text, lines)
            except ParseError as exc:
                exc.partial = chunk = self.chunk
                chunk.first, chunk.span = first, (span[0], self.stop)
                raise
            chunk.first, chunk.span = first, (span[0], self.stop)
            # nothing of the chunk but what it hands on is held while the caller has it
            yield chunk

    def _decode(self, view: memoryview, span: tuple[int, int, bool]) -> tuple[str, list[str] | None, bool]:
        """``body.decode``, and its lines with NUL bytes where Prometheus 2.42's lexer skips them
        read as it reads them (``grammar.lexed_nuls``): a body without any pays one C-level
        search. No lines yet (``None``) where the kernel may read the chunk without them."""
        text, valid = body.decode(view, span[0], span[1])
        if self.nuls and "\0" in text:
            lines = [grammar.lexed_nuls(line) if "\0" in line else line for line in body.lines(text, span[2])]
            return "\n".join(lines), lines, valid
        if _KERNEL is not None and valid and not self.strict:
            return text, None, valid
        return text, body.lines(text, span[2]), valid

    def _rejoined(
        self,
        view: memoryview,
        spans: Iterator[tuple[int, int, bool]],
        last: bool,
        text: str,
        lines: list[str],
    ) -> Chunk[K]:
        """A text chunk that failed, read again as if a quoted value held a raw newline, which
        Prometheus 2.42's text lexer allows: with the value's lines joined, and the next chunks
        while it runs on (each line is looked at once more). Raises ``ParseError`` when no
        quote opens and closes that way."""
        texts = [text]
        open_ = _quote_state(lines, False)
        while open_ and not last:
            span = next(spans, None)
            if span is None:
                break
            more, found, _ = self._decode(view, span)
            more_lines = body.lines(more, span[2]) if found is None else found
            self.stop = span[1]
            texts.append(more)
            lines += more_lines
            last = span[2]
            open_ = _quote_state(more_lines, open_)
        text = "\n".join(texts)
        del texts
        joined = _joined(lines)
        if joined is None:  # the error, as the careful path words it (or what only it reads)
            return self._chunk(text, lines, False)
        return self._chunk(text, lines, False, joined)

    def _chunk(
        self, text: str, lines: list[str] | None, valid: bool, joined: list[str] | None = None
    ) -> Chunk[K]:
        """The chunk of ``text`` (its ``lines``, or those lines ``joined``; ``None``: for
        ``_lines`` to make where it needs them)."""
        self._start([] if lines is None else lines if joined is None else joined)
        self.valid = valid
        count = self._lines(text, lines is None)
        chunk = self.chunk
        chunk.label_sets += len(chunk.plain.at) + len(chunk.parsed.at)
        kept_chars = len(text) - self.comment_chars + self.built_chars
        chunk.text_bytes = kept_chars * (1 if text.isascii() else 4)
        self.first += count
        self._start([])
        return chunk

    def _lines(self, text: str, split: bool) -> int:
        """Read the chunk; how many lines it has. With ``split`` its lines are still to be made
        (``self.last`` says whether it ends the body): the kernel scans its text first, and the
        lines are made where the bulk paths do not read it without them."""
        bulk = True
        if split:
            scan = self._kernel_scan(text)
            if scan is not None:
                if self._in_bulk(scan, text):
                    return scan.lines
                bulk = False  # (it failed: not again)
                del scan  # (what the run-by-run path holds instead)
            self.lines = body.lines(text, self.last)
        lines = self.lines
        if not self.valid or _careful(text, self.dialect):
            for index in range(len(lines)):
                self._line(index)
            return len(lines)
        if bulk and not self.strict and self._in_bulk(_scan(lines, self.known), text):
            return len(lines)
        special = list(map(_SPECIAL_FIRST.__contains__, map(_FIRST, lines)))
        parts = list(map(_RPARTITION, lines))
        keys = list(map(_KEY, parts))
        values = list(map(_VALUE, parts))
        del parts
        hits: list[K | None] = list(map(self.known.get, keys))
        for start, stop, after in _runs(special):
            if stop > start:
                self._run(start, stop, hits, keys, values)
            if after > stop:
                self._comments(stop, after)
        return len(lines)

    def _kernel_scan(self, text: str) -> _Scan[K] | None:
        """The kernel's ``scan`` of a valid chunk's text (not ``strict``), unless it needs care."""
        if _KERNEL is None or _careful(text, self.dialect):
            return None
        found = _KERNEL.scan(text, self.last, self.known, self.position)
        if found is None:
            return None
        scan: _Scan[K] = _Scan._make(found)
        self.position = scan.position
        return scan

    def _in_bulk(self, scan: _Scan[K], text: str) -> bool:
        """The chunk (``text``) read in bulk when none of its sample lines is known
        (``_all_new``) or all are (``_all_known``); ``False`` (nothing done) otherwise, or when
        that fails. (A comment line is never known: a series text never is empty nor starts as a
        comment line does.) Not ``strict``: there the families each run of samples was given are
        noted before the next comment run (``Metadata.read``)."""
        if scan.missing == len(scan.keys):
            return self._all_new(scan, text)
        return not scan.missing and self._all_known(scan)

    def _all_new(self, scan: _Scan[K], text: str) -> bool:
        """A chunk of which no line is known (a cold scrape): when all its sample lines have the
        plain shape, they are parsed in bulk and their families found under their blocks
        (``_known_runs``, else ``_runs_in_order``); ``False`` (nothing done) otherwise."""
        keys = scan.keys
        if not keys:
            return False
        read = self._read_before(keys)
        sets = _plain_label_sets(keys, self.dialect.plain, self.trailing) if read is None else read
        if sets is None:
            return False
        floats = _values(scan.values, scan.odd)
        if floats is None:
            return False
        names, bodies, shapes = sets
        families, contexts, runs = self._known_runs(scan, names) or self._runs_in_order(scan, names, text)
        if read is None:
            numbers = range(self.first, self.first + scan.lines)
            self._check_shapes(shapes, list(compress(numbers, map(not_, scan.special))))
            texts = self.texts
            if texts is not None and len(texts) + len(keys) <= PLAIN_TEXTS_MAX:
                texts.update(zip(keys, zip(names, bodies, shapes, strict=True), strict=True))
        self._extend(keys, [None] * len(keys), floats)
        add_positions(self.chunk.plain, 0, len(keys))
        _add_plain(self.chunk.plain, (names, families, contexts, shapes, bodies))
        self.built_chars += scan.sample_chars + len(keys) - runs  # each run's lines joined apart
        return True

    def _known_runs(self, scan: _Scan[K], names: list[str]) -> _Placed | None:
        """The families and blocks of a cold chunk's sample lines (called ``names``), and how
        many runs of them it has, when the families table read every run of its comment lines
        before, none amending the block before it (``Metadata.after``): each run's families
        looked up under its block, all at once, as ``_runs_in_order`` would apply the runs one by
        one. ``None`` (nothing changed) otherwise, at once when the table has no run yet (the
        first target of a scrape stage)."""
        if not self.metadata.runs:
            return None
        pieces = _COMMENT_RUNS.split(scan.special)  # runs of sample lines, of comment lines, ...
        comments, chars = (
            _comment_runs(self.lines, scan.special, pieces) if scan.comments is None else scan.comments
        )
        metadata = self.metadata
        afters = metadata.after(comments)
        if afters is None:
            return None
        blocks = [metadata.context, *afters]
        lengths = list(map(len, pieces[::2]))
        members = chain.from_iterable(map(repeat, metadata.families.members_of(blocks), lengths))
        families: list[Family] = list(map(dict.get, members, names))  # type: ignore[arg-type]
        if any(map(is_, families, repeat(None))):  # ``None in`` would call Family.__eq__ on each
            own = metadata.own_family
            families = [
                own(name) if found is None else found for found, name in zip(families, names, strict=True)
            ]
        metadata.context = blocks[-1]
        self.comment_chars += chars
        contexts = list(chain.from_iterable(map(repeat, blocks, lengths)))
        return families, contexts, len(lengths) - lengths.count(0)

    def _runs_in_order(self, scan: _Scan[K], names: list[str], text: str) -> _Placed:
        """The families and blocks of a cold chunk's sample lines (called ``names``), and how
        many runs of them it has: its comment lines read in order between the runs of sample
        lines (which the chunk's lines, made here from its ``text`` if need be, hold), each
        run's families looked up under its block."""
        if not self.lines:
            self.lines = body.lines(text, self.last)
        families: list[Family] = []
        contexts: list[Family | None] = []
        runs = 0
        for start, stop, after in _runs(scan.special):
            if stop > start:
                runs += 1
                families += self._families(names[len(families) : len(families) + stop - start])
                contexts += repeat(self.metadata.context, stop - start)
            if after > stop:
                self._comments(stop, after)
        return families, contexts, runs

    def _all_known(self, scan: _Scan[K]) -> bool:
        """A chunk whose every sample line is a known series (a warm scrape): their values parsed
        in one pass, the block each is read under found in C-level passes over the comment lines
        and checked against its entry's (``_known_blocks``); ``False`` (nothing done) when a
        value, a comment run or an entry needs the run-by-run path, which then reads the chunk."""
        floats = _values(scan.values, scan.odd)
        if floats is None:
            return False
        found = self._known_blocks(scan)
        if found is None:
            return False
        self.metadata.context, chars = found
        self.comment_chars += chars
        self._extend(scan.keys, scan.hits, floats)
        return True

    def _known_blocks(self, scan: _Scan[K]) -> tuple[Family | None, int] | None:
        """The block after a chunk of known series and the characters of its comment lines (as
        ``_comments`` counts them), when the families table read every run of them before, none
        amending the block before it (``Metadata.after``), and every entry's block is the one its
        line is read under; else ``None``. The kernel's ``blocks``, else ``_blocks``."""
        pieces = None
        if scan.comments is None:
            pieces = _COMMENT_RUNS.split(scan.special)
            comments, chars = _comment_runs(self.lines, scan.special, pieces)
        else:
            comments, chars = scan.comments
        metadata = self.metadata
        if _KERNEL is not None:
            found = _KERNEL.blocks(
                scan.special, comments, metadata.runs, metadata.context, scan.hits, KNOWN_CONTEXT
            )
            if found is not None:
                return found[0], chars
        after = self._blocks(scan.special, comments, scan.hits, pieces)
        return None if after is None else (after[0], chars)

    def _blocks(
        self, special: bytes, comments: list[str], hits: list[K | None], pieces: list[bytes] | None
    ) -> tuple[Family | None] | None:
        """The block after the chunk, as ``(block,)``, when the families table read every run of
        its comment lines (``comments``) before, none amending the block before it
        (``Metadata.after``), and every entry (``hits``) was read under the block its line is
        read under, by identity or equality; else ``None``. A run the table holds was read as
        comment lines only, with a ``# HELP`` or ``# TYPE``: ``_comments`` hands it to
        ``Metadata.comments``, which applies it as that lookup. In C-level passes; nothing is
        changed. (The kernel's ``blocks`` does it by identity only.)"""
        metadata = self.metadata
        afters = metadata.after(comments)
        if afters is None:
            return None
        blocks = [metadata.context, *afters]
        runs = _COMMENT_RUNS.split(special) if pieces is None else pieces  # samples, comments, ...
        contexts = list(chain.from_iterable(map(repeat, blocks, map(len, runs[::2]))))
        # (``_run``'s check, by identity then equality, for every run at once)
        if list(map(_CONTEXT, cast(list[K], hits))) != contexts:
            return None
        return (blocks[-1],)

    def _comments(self, start: int, stop: int) -> None:
        """Lines ``start:stop`` are comments, blank or start with a blank. In text 0.0.4 a run
        of blank lines and plain comments changes nothing, and is skipped in C; a run of
        comment lines only is applied as a whole (``Metadata.comments``: one lookup when the
        table read it before)."""
        lines = self.lines[start:stop]
        joined = "\n".join(lines)
        if (
            self.dialect.lenient_lines
            and "HELP" not in joined
            and "TYPE" not in joined
            and not any(map(_BLANK_START, lines))
        ):
            self.comment_chars += len(joined)
            return
        if joined.startswith("#") and joined.count("\n#") == len(lines) - 1:
            self.metadata.comments(lines, joined, self.first + start)
            self.comment_chars += len(joined) - len(lines) + 1
            return
        for index in range(start, stop):
            self._line(index)

    def _run(self, start: int, stop: int, hits: list[K | None], keys: list[str], values: list[str]) -> None:
        """Lines ``start:stop`` are sample lines; when all are known, only their values need
        parsing."""
        run = hits[start:stop]
        texts = values[start:stop]
        if None not in run:
            known = cast(list[K], run)
            if list(map(_CONTEXT, known)).count(self.metadata.context) == len(run):
                floats = _floats(texts)
                if floats is not None:
                    self._extend(keys[start:stop], run, floats)
                    self.metadata.read(map(_NAME, known), map(_FAMILY, known))
                    return
        self._cold(start, stop, hits, keys, values)

    def _extend(self, keys: list[str], known: list[K | None], floats: list[float]) -> None:
        """Add sample lines without timestamps or exemplars to the chunk."""
        chunk = self.chunk
        chunk.keys += keys
        chunk.known += known
        chunk.values += floats
        if chunk.timestamps is not None:
            chunk.timestamps += repeat(None, len(keys))
        if chunk.exemplars is not None:
            chunk.exemplars += repeat(None, len(keys))

    def _cold(self, start: int, stop: int, hits: list[K | None], keys: list[str], values: list[str]) -> None:
        """Lines ``start:stop`` are sample lines not (all) known: parse the new ones in bulk when
        they all have the plain shape ``name{a="1",b="2"} value``, else line by line."""
        lines = self.lines[start:stop]
        joined = "\n".join(lines)
        if "\\" in joined:
            plain = [index for index in range(start, stop) if "\\" not in self.lines[index]]
            if len(plain) * 2 < stop - start:
                for index in range(start, stop):
                    self._line(index)
                return
            begin = start
            for index in range(start, stop):
                if "\\" in self.lines[index]:
                    if index > begin:
                        self._cold(begin, index, hits, keys, values)
                    self._line(index)
                    begin = index + 1
            if stop > begin:
                self._cold(begin, stop, hits, keys, values)
            return
        if self.dialect.plain.fullmatch(joined) is None:
            for index in range(start, stop):
                self._line(index)
            return
        floats = _floats(values[start:stop])
        if floats is None:
            for index in range(start, stop):
                self._line(index)
            return
        self._plain(start, stop, hits[start:stop], keys[start:stop], floats=floats, size=len(joined))

    def _plain(
        self, start: int, stop: int, run: list[K | None], keys: list[str], *, floats: list[float], size: int
    ) -> None:
        """Lines ``start:stop`` are valid plain sample lines: the known ones are kept, the new
        ones handed on as names, label-set shapes and values."""
        metadata = self.metadata
        context = metadata.context
        base = len(self.chunk.keys)
        if run.count(None) == len(run):
            fresh: list[int] | range = range(len(run))
            known = run
            series = keys
        else:  # a warm run with a new series: the known ones stay what they are
            fresh = [i for i, hit in enumerate(run) if hit is None or hit[KNOWN_CONTEXT] is not context]
            known = [None if hit is None or hit[KNOWN_CONTEXT] is not context else hit for hit in run]
            size = sum(len(self.lines[start + i]) for i in fresh)
            series = [keys[i] for i in fresh]
        names, bodies, shapes = _label_sets(series)
        self._check_shapes(shapes, [self.first + start + index for index in fresh])
        families = self._families(names)
        self._extend(keys, known, floats)
        new = self.chunk.plain
        if isinstance(fresh, range):
            add_positions(new, base, base + len(run))
        else:
            for i in fresh:
                add_positions(new, base + i, base + i + 1)
        _add_plain(new, (names, families, repeat(context, len(names)), shapes, bodies))
        self.built_chars += size
        if len(fresh) == len(run):
            metadata.read(names, families)
        else:
            line_names = [hit[KNOWN_NAME] if hit is not None else "" for hit in known]
            line_families = [hit[KNOWN_FAMILY] if hit is not None else families[0] for hit in known]
            for i, name, family in zip(fresh, names, families, strict=True):
                line_names[i], line_families[i] = name, family
            metadata.read(line_names, line_families)

    def _read_before(self, series: list[str]) -> tuple[list[str], list[str], list[str]] | None:
        """The names, label sets and shapes of ``series`` when every one of them is a plain
        series text validated before (``PlainTexts``): a line made of one and a value without a
        space is a plain line whenever the value is a float (``_floats``)."""
        if not self.texts:
            return None
        found = list(map(self.texts.get, series))
        if None in found:
            return None
        return list(map(_KEY, found)), list(map(_MIDDLE, found)), list(map(_VALUE, found))  # type: ignore[arg-type]

    def _check_shapes(self, shapes: list[str], numbers: list[int]) -> None:
        """``_check_shape`` for each shape not validated before (of lines ``numbers``)."""
        if not self.shapes.issuperset(shapes):
            for number, shape in zip(numbers, shapes, strict=True):
                if shape not in self.shapes:
                    self._check_shape(shape, number)

    def _families(self, names: list[str]) -> list[Family]:
        """The families of samples called ``names`` under the current block."""
        metadata = self.metadata
        found = list(map(metadata.members.get, names))
        missing = any(map(is_, found, repeat(None)))  # ``None in`` would call Family.__eq__ on each
        return list(map(metadata.family, names)) if missing else found  # type: ignore[return-value]

    def _check_shape(self, shape: str, number: int) -> None:
        """Refuse a label-set shape (line ``number``) that repeats a label (but one that has an
        empty value: it goes) or names ``__name__``."""
        labels = shape_labels(shape)
        names = [name for name, _ in labels]
        kept = [name for name, keep in labels if keep]
        if len(set(kept)) != len(kept) or "__name__" in names:
            raise ParseError(
                f'label name "{_duplicate([(name, "") for name in names])}" is not unique',
                number,
                appended=True,
            )
        self.shapes.add(shape)

    def _line(self, index: int) -> None:
        line = self.lines[index]
        number = self.first + index
        if not line:
            if not self.dialect.lenient_lines:
                raise ParseError("empty line (not allowed in OpenMetrics)", number)
            return
        first = line[0]
        if first == "#":
            self.comment_chars += len(line)
            self.metadata.comment(line, number, self.valid)
        elif (first in {" ", "\t"}) and self.dialect.lenient_lines:
            stripped = line.lstrip(" \t")
            if stripped.startswith("#"):
                self.comment_chars += len(line)
                self.metadata.comment(stripped, number, self.valid)
            elif stripped:
                read = self._reads_as_sample(stripped, number)
                raise ParseError("sample line starts with whitespace", number, appended=read)
        else:
            self._sample(line, number)

    def _reads_as_sample(self, line: str, number: int) -> bool:
        """Whether ``line`` is a valid sample line: Prometheus 2.42 reads one after blanks, and
        counts it as scraped, before it fails the scrape."""
        match = self.dialect.sample.fullmatch(line)
        if match is None:
            return False
        try:
            self._new_series(match.group(1), match.group(2), number)
            self._value(match.group(3), match.group(4), number)
        except ParseError:
            return False
        return True

    # -- samples ---------------------------------------------------------------------------

    def _sample(self, line: str, number: int) -> None:
        match = self.dialect.sample.fullmatch(line)
        if match is None and line.startswith("{"):
            match = self.dialect.braced.fullmatch(line)
        if match is None:
            raise ParseError(self._diagnose(line), number)
        value_at = match.start(3)
        key = line[: value_at - 1] if line[value_at - 1] == " " else None
        entry = self.known.get(key) if key is not None else None
        context = self.metadata.context
        pairs: list[tuple[str, str]] | None = None
        name = match.group(1)
        refused: ParseError | None = None
        if entry is None or entry[KNOWN_CONTEXT] is not context:
            name, pairs, refused = self._new_series(name, match.group(2), number)
        value, timestamp_ms = self._value(match.group(3), match.group(4), number)
        exemplar = None
        if self.dialect.exemplars and match.group(5) is not None:
            named = name if entry is None or pairs is not None else entry[KNOWN_NAME]
            exemplar = self._exemplar(named, match.group(5, 6, 7), number)
        if refused is not None:
            raise refused
        chunk = self.chunk
        at = len(chunk.keys)
        if pairs is None:
            assert entry is not None
            self.metadata.read((entry[KNOWN_NAME],), (entry[KNOWN_FAMILY],))
        else:
            self._add_parsed(at, name, pairs, context)
            self.built_chars += value_at
            entry = None
        chunk.keys.append(key)
        chunk.unkeyed = chunk.unkeyed or key is None
        chunk.known.append(entry)
        chunk.values.append(value)
        if timestamp_ms is not None and chunk.timestamps is None:
            chunk.timestamps = [None] * at
        if chunk.timestamps is not None:
            chunk.timestamps.append(timestamp_ms)
        if exemplar is not None and chunk.exemplars is None:
            chunk.exemplars = [None] * at
        if chunk.exemplars is not None:
            chunk.exemplars.append(exemplar)

    def _add_parsed(self, at: int, name: str, pairs: list[tuple[str, str]], context: Family | None) -> None:
        """Add the new series of sample line ``at`` of the chunk, read carefully."""
        family = self.metadata.family(name)
        new = self.chunk.parsed
        add_positions(new, at, at + 1)
        new.names.append(name)
        new.families.append(family)
        new.contexts.append(context)
        new.labels.append(pairs)  # type: ignore[arg-type]
        if type(pairs) is Repeated:
            new.repeated.append(len(new.names) - 1)
        self.metadata.read((name,), (family,))

    def _new_series(
        self, name: str, set_text: str | None, number: int
    ) -> tuple[str, list[tuple[str, str]] | None, ParseError | None]:
        """``_series``, or the error Prometheus's appender would raise (a repeated label name):
        its parser reads the rest of the line first, whose errors come before it."""
        try:
            found, pairs = self._series(name, set_text, number)
        except ParseError as exc:
            if not exc.appended:
                raise
            return name, None, exc
        return found, pairs, None

    def _series(self, name: str, set_text: str | None, number: int) -> tuple[str, list[tuple[str, str]]]:
        """A new series' metric name (``name`` as the line starts, or quoted in the braces) and
        label pairs."""
        quoted, pairs = self._labels(set_text, number) if set_text else (None, [])
        if quoted is not None and name:
            raise ParseError(f"metric name already set: {name!r} and {quoted!r}", number)
        name = quoted if quoted is not None else name
        if not name:
            raise ParseError("metric name not set", number)
        return name, pairs

    def _labels(self, text: str, number: int) -> tuple[str | None, list[tuple[str, str]]]:
        """The metric name in a label set (Prometheus 3.x's quoted name, else ``None``) and its
        label pairs: unescaped, empty values dropped, duplicates refused."""
        memo = self.labels_memo.get(text)
        if memo is not None:
            return None, list(memo)
        if self.dialect.label_set.fullmatch(text) is None:
            if self.dialect.quoted_label_set.fullmatch(text) is None:
                raise ParseError(self._diagnose_labels(text), number)
            return self._quoted_labels(text, number)
        pairs: list[tuple[str, str]] = self.dialect.label_pair.findall(text)
        if "\\" in text:
            try:
                pairs = [(name, grammar.unescape(value, self.strict)) for name, value in pairs]
            except ValueError as exc:
                raise ParseError(str(exc), number) from None
        pairs = self._checked(pairs, text, number)
        if type(pairs) is Repeated:
            return None, pairs
        self.labels_memo[text] = pairs
        return None, list(pairs)

    def _quoted_labels(self, text: str, number: int) -> tuple[str | None, list[tuple[str, str]]]:
        """A label set with quoted names (``"a.b"="1"``), and maybe the metric name (``"a.b"``)."""
        metric: str | None = None
        pairs: list[tuple[str, str]] = []
        try:
            for item in self.dialect.quoted_item.finditer(text):
                bare, value, quoted, quoted_value = item.groups()
                if bare is not None:
                    pairs.append((bare, grammar.unescape(value, self.strict)))
                elif quoted_value is not None:
                    pairs.append(
                        (grammar.unescape(quoted, self.strict), grammar.unescape(quoted_value, self.strict))
                    )
                elif metric is not None:
                    raise ParseError(f"metric name already set: {metric!r}", number)
                else:
                    metric = grammar.unescape(quoted, self.strict)
        except ValueError as exc:
            raise ParseError(str(exc), number) from None
        if any(not name for name, _ in pairs):
            raise ParseError("empty label name", number)
        if not self.valid and metric is not None and body.INVALID_UTF8.search(metric):
            raise ParseError("invalid UTF-8 metric name", number)
        return metric, self._checked(pairs, text, number)

    def _checked(self, pairs: list[tuple[str, str]], text: str, number: int) -> list[tuple[str, str]]:
        """``pairs`` without the names that have an empty value (every label of such a name
        goes, as Prometheus's label builder drops them); refused when a value (or a quoted name)
        is not UTF-8. When a name repeats, or one is ``__name__`` (a second metric name), they
        are ``Repeated``, as exposed, for the scrape stage (the target's labels or metric
        relabeling may replace them; else Prometheus's TSDB refuses them), unless ``strict``
        refuses them here, or ``__name__`` is empty (Prometheus then has no metric name)."""
        if not self.valid and body.INVALID_UTF8.search(text):
            raise ParseError("invalid UTF-8 label value", number)
        names = dict(pairs)
        if '""' in text:
            empty = {name for name, value in pairs if not value}
            kept = [pair for pair in pairs if pair[0] not in empty]
            unique = len(dict(kept)) == len(kept)
        else:
            kept, unique = pairs, len(names) == len(pairs)
        if "__name__" in names and (self.strict or ("__name__", "") in pairs):  # (Prometheus: no name)
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number, appended=True)
        if not unique and self.strict:
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number, appended=True)
        if len(names) < len(pairs) or "__name__" in names:
            return Repeated(pairs)
        return kept

    def _value(self, value: str, timestamp: str | None, number: int) -> tuple[float, int | None]:
        """A sample's value and exposed timestamp (``grammar.OUT_OF_RANGE`` for an OpenMetrics
        time beyond int64 milliseconds, unless ``strict``)."""
        try:
            return grammar.parse_float(value), None if timestamp is None else self.dialect.timestamp(
                timestamp
            )
        except grammar.TimestampOutOfRange as exc:
            if self.strict:
                raise ParseError(str(exc), number) from None
            return grammar.parse_float(value), grammar.OUT_OF_RANGE
        except ValueError as exc:
            raise ParseError(str(exc), number) from None

    def _exemplar(self, named: str, parts: tuple[str, ...], number: int) -> Exemplar | None:
        """The exemplar of a sample called ``named`` (its label set, value and timestamp texts);
        ``None`` when its time is beyond int64 milliseconds (an exemplar's problems never fail a
        scrape in Prometheus), unless ``strict``."""
        if not named.endswith(_EXEMPLAR_SUFFIXES):
            raise ParseError(f"metric name {named[:80]!r} does not support exemplars", number)
        set_text, value, timestamp = parts
        quoted: str | None = None
        pairs: list[tuple[str, str]] = []
        refused: ParseError | None = None
        try:
            quoted, pairs = self._labels(set_text, number) if set_text else (None, [])
            if type(pairs) is Repeated:
                refused = ParseError(f'label name "{_duplicate(pairs)}" is not unique', number, appended=True)
        except ParseError as exc:
            if not exc.appended:
                raise
            refused = exc
        if quoted is not None:
            raise ParseError("exemplar: expected label name, got a quoted metric name", number)
        try:
            exemplar = Exemplar(
                tuple(sorted(pairs)),
                grammar.parse_float(value),
                None if timestamp is None else self.dialect.timestamp(timestamp),
            )
        except grammar.TimestampOutOfRange as exc:
            if self.strict:
                raise ParseError(f"exemplar: {exc}", number) from None
            return None
        except ValueError as exc:
            raise ParseError(f"exemplar: {exc}", number) from None
        if refused is not None:  # a repeated label name: Prometheus drops the exemplar alone
            if self.strict:
                raise refused
            return None
        self.chunk.label_sets += 1
        self.chunk.labels += len(exemplar.labels)
        self.built_chars += len(set_text)
        return exemplar

    # -- error reasons -------------------------------------------------------------------------

    def _diagnose(self, line: str) -> str:
        name = grammar.METRIC_NAME.match(line)
        if name is None:
            return f"invalid metric name at the start of {line[:80]!r}"
        if _unterminated(line):
            return f"unterminated quoted label value in {line[:80]!r}"
        rest = line[name.end() :]
        if rest.startswith("{") and "}" not in rest:
            return f"label set not closed in {line[:80]!r}"
        if self.dialect.single_spaces and ("\t" in line or "  " in line):
            return f"OpenMetrics separates tokens by exactly one space: {line[:80]!r}"
        if not rest.strip(" \t") or rest.rstrip(" \t").endswith("}"):
            return f"expected a value after the metric in {line[:80]!r}"
        return f"invalid sample line {line[:120]!r}"

    def _diagnose_labels(self, text: str) -> str:
        if _unterminated(text):
            return f"unterminated quoted label value in {{{text[:80]}}}"
        return f"invalid label set {{{text[:100]}}}"


def _careful(text: str, dialect: Dialect) -> bool:
    """Whether a chunk's lines need the careful path (``Dialect.careful``)."""
    return any(char in text for char in dialect.careful)


def _scan(lines: list[str], known: Mapping[str, K]) -> _Scan[K]:
    """A chunk's lines as its bulk paths read them (the kernel's ``scan`` reads the chunk's
    text alike, reading most values too)."""
    flags = list(map(_SPECIAL_FIRST.__contains__, map(_FIRST, lines)))
    samples = list(compress(lines, map(not_, flags)))
    parts = list(map(_RPARTITION, samples))
    keys = list(map(_KEY, parts))
    values: list[float | str] = list(map(_VALUE, parts))
    del parts
    hits: list[K | None] = list(map(known.get, keys))
    missing, chars = hits.count(None), sum(map(len, samples))
    return _Scan(len(lines), bytes(flags), keys, values, range(len(values)), hits, missing, None, chars, 0)


def _comment_runs(lines: list[str], special: bytes, pieces: list[bytes]) -> tuple[list[str], int]:
    """The chunk's runs of lines that are not sample lines, each joined, and their characters
    (``pieces``: ``special`` split at its runs, ``_COMMENT_RUNS``)."""
    comments = list(compress(lines, special))
    texts = list(map("\n".join, map(islice, repeat(iter(comments)), map(len, pieces[1::2]))))
    return texts, sum(map(len, comments))


def _values(values: list[float | str], odd: Sequence[int]) -> list[float] | None:
    """The sample values of a chunk's ``_Scan`` when Prometheus accepts them all, reading the
    texts among them (``_floats``: the same for each value whichever others are read with it);
    else ``None``."""
    if len(odd) == len(values):
        return _floats(cast(list[str], values))
    if not odd:
        return cast(list[float], values)
    floats = _floats(list(map(values.__getitem__, odd)))  # type: ignore[arg-type]
    if floats is None:
        return None
    read = list(values)
    for at, value in zip(odd, floats, strict=True):
        read[at] = value
    return cast(list[float], read)


def _plain_label_sets(
    keys: list[str], plain: re.Pattern[str], trailing: bool
) -> tuple[list[str], list[str], list[str]] | None:
    """The names, label sets and shapes of series texts (``_label_sets``) when all are those of
    lines of the ``plain`` shape (``Dialect.plain``: ``name{a="1",b=""} value``, a trailing
    comma in the braces too where ``trailing``); else ``None``. The kernel's ``label_sets``,
    else that pattern over each series text with a value."""
    if _KERNEL is not None:
        found: tuple[list[str], list[str], list[str]] | None = _KERNEL.label_sets(keys, trailing)
        if found is not None:
            return found
    lines = " 1\n".join([*keys, ""])
    if "\\" in lines or plain.fullmatch(lines) is None:
        return None
    return _label_sets(keys)


def _floats(texts: list[str]) -> list[float] | None:
    """The values of ``texts`` when Prometheus accepts them all, else ``None`` (the careful
    path then names the line at fault)."""
    try:
        floats = list(map(float, texts))
    except ValueError:
        return None
    return floats if grammar.check_floats(texts, floats) < 0 else None


def _label_sets(series: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The metric names, label sets (the text between the braces) and label-set shapes of
    plain series texts."""
    heads = list(map(_PARTITION_BRACE, series))
    names = list(map(_KEY, heads))
    bodies = list(map(_BODY, map(_VALUE, heads)))
    del heads
    # (a run split around lines with escapes may hold no new series at all)
    shapes = grammar.PLAIN_VALUE.sub("=", "\n".join(bodies)).split("\n") if bodies else []
    return names, bodies, shapes


def _add_plain(
    new: NewSeries,
    columns: tuple[list[str], list[Family], Iterable[Family | None], list[str], list[str]],
) -> None:
    """Add plain new series' names, families, metadata blocks, shapes and label sets."""
    names, families, contexts, shapes, bodies = columns
    new.names += names
    new.families += families
    new.contexts += contexts
    new.shapes += shapes
    new.labels += bodies  # type: ignore[operator]


def _runs(special: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    """A chunk's lines as runs of sample lines ``start:stop``, each followed by the comment (or
    blank) lines ``stop:after`` (the first run may be empty)."""
    start, count = 0, len(special)
    while start < count:
        stop = _index(special, True, start, count)
        after = _index(special, False, stop, count)
        yield start, stop, after
        start = after


def _index(flags: Sequence[int], flag: bool, start: int, count: int) -> int:
    """The first index from ``start`` whose flag is ``flag``, else ``count``."""
    try:
        return flags.index(flag, start)
    except ValueError:
        return count


def _quote_state(lines: list[str], open_: bool) -> bool:
    """Whether a quoted value is still open after ``lines``, given whether one was before them
    (outside a value, a comment's quotes do not count)."""
    for line in lines:
        if (open_ or not _is_comment(line)) and _unterminated(line):
            open_ = not open_
    return open_


def _joined(lines: list[str]) -> list[str] | None:
    """``lines`` with each sample line whose quotes do not close joined to the lines that close
    them, which become blank (so that every line keeps its number); ``None`` when none closes."""
    out: list[str] | None = None
    index, count = 0, len(lines)
    while index < count:
        line = lines[index]
        index += 1
        if _is_comment(line) or not _unterminated(line):
            continue
        begin = index - 1
        while index < count and not _unterminated(lines[index]):
            index += 1
        if index == count:
            break  # this one never closes: it fails on its own line
        index += 1
        out = out if out is not None else list(lines)
        out[begin] = "\n".join(lines[begin:index])
        out[begin + 1 : index] = [""] * (index - begin - 1)
    return out


def _is_comment(line: str) -> bool:
    """Whether a text line read outside a quoted value is a comment: blanks may come before its
    ``#`` (2.42's lexer skips them), and no quote in it opens a value."""
    return line.lstrip(" \t").startswith("#")


def _unterminated(text: str) -> bool:
    """Whether ``text`` has an odd number of unescaped quotes. Escapes pair up from the left, so
    with every ``\\\\`` gone each backslash left escapes the character after it."""
    unpaired = text.replace("\\\\", "")
    return (unpaired.count('"') - unpaired.count('\\"')) % 2 == 1


def _duplicate(pairs: list[tuple[str, str]]) -> str:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen or name == "__name__":
            return name
        seen.add(name)
    return ""


def newlines(data: bytes) -> int:
    """``data.count(b"\\n")``: by the scan kernel where it is built (a vector count, about ten
    times faster on a scrape body)."""
    if _KERNEL is not None:
        found: int | None = _KERNEL.newlines(data)
        if found is not None:
            return found
    return data.count(b"\n")


def sample_line(data: bytes, chunk: Chunk[K], position: int) -> int | None:
    """The number of the line of ``chunk``'s sample at ``position`` (``data`` is the body the
    chunk was parsed from): for an error found after the parse, off the hot path."""
    if not chunk.span[1]:
        return None  # not a text format
    text = str(memoryview(data)[slice(*chunk.span)], "utf-8", "surrogateescape")
    lines = text.split("\n")
    lines = _joined(lines) or lines
    samples = (index for index, line in enumerate(lines) if line and not _SPECIAL(line))
    return chunk.first + next(islice(samples, position, None), len(lines))


def parse(
    dialect: Dialect,
    data: bytes,
    known: Mapping[str, K],
    families: Families,
    strict: bool = False,
    *,
    texts: dict[str, PlainTexts] | None = None,
) -> Iterator[Chunk[K]]:
    """Parse an exposition in ``dialect`` chunk by chunk, against the series the caller knows;
    the metadata blocks' families are interned into ``families`` (it grows). ``strict`` refuses
    what Prometheus 2.42 accepts but the format specs do not. ``texts`` (by dialect name) are
    the plain series texts earlier parses validated, which this one reads again with one lookup
    (and adds to)."""
    return _Parse(dialect, known, families, strict, texts).chunks(data)
