"""The line loop shared by both formats: bulk work for cached series, careful work for the rest.

A scrape body is parsed chunk by chunk (``body.chunks``: whole lines, about ``CHUNK_BYTES`` of
text each), and each chunk's samples are handed on before the next chunk is read. In a chunk,
every line is cut at its last space (C-level ``map``) into what would be a series text and a
value, and the series texts are looked up in the target's ``SeriesCache`` in one pass. Runs of
consecutive hits (everything between two comment lines, on a warm scrape) become ``Sample``
objects in bulk: one ``float()`` per value and no label work at all. Every other line --
comments, new series, timestamps, exemplars, anything odd -- goes through ``_line``, which
applies the full grammar and reports the line number.

What outlives a chunk: its samples (the caller's), the series seen so far (committed to the
cache only once the whole body parsed) and the metadata state (``metadata.Metadata``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from itertools import repeat
from operator import add, call, is_, itemgetter, methodcaller, not_, or_
from typing import Any, Final

from ..limits import ScrapeBudget
from ..model import Exemplar, Family, Sample
from . import body, grammar
from .cache import Entry, SeriesCache
from .errors import ParseError
from .metadata import Metadata

_RPARTITION: Final = methodcaller("rpartition", " ")
_KEY, _VALUE = itemgetter(0), itemgetter(2)
_NAME, _LABELS, _FAMILY, _SCRATCH, _CONTEXT = (itemgetter(i) for i in range(5))

_SPECIAL: Final = methodcaller("startswith", ("#", " ", "\t"))
_BLANK_START: Final = methodcaller("startswith", (" ", "\t"))
_PARTITION_BRACE: Final = methodcaller("partition", "{")
_BODY: Final = itemgetter(slice(0, -1))
_SPLIT_QUOTES: Final = methodcaller("split", '"')
_ODD: Final = itemgetter(slice(1, None, 2))
_SHAPE_NAMES, _SHAPE_PICK, _SHAPE_CONSTANTS = (itemgetter(i) for i in range(3))

_Shape = tuple[tuple[str, ...], "itemgetter[Any]", list[str]]
"""(final label names, picker of their values from body values + constants, constants)."""

_ODD_WHITESPACE: Final = "\r\x0b\x0c\x1c\x1d\x1e\x1f"
"""Characters Python's ``float()`` strips but Go's ``ParseFloat`` refuses; rare, so their mere
presence in a chunk sends each of its lines through the careful path."""


class _Parse:
    """One parse of one exposition (state for a single call)."""

    def __init__(self, openmetrics: bool, cache: SeriesCache, keep: bool, budget: ScrapeBudget) -> None:
        self.openmetrics = openmetrics
        self.cache = cache
        self.keep = keep
        self.budget = budget
        self.finish = cache.finish
        self.known, families, shapes = cache.usable(openmetrics)
        # what the cache gets when the whole body parsed: the series seen, and the families
        # and shapes (copies of the cache's, with what this parse adds)
        self.seen: dict[str, Entry] = {}
        self.families: dict[Family, Family] = dict(families)
        self.shapes: dict[str, _Shape] = dict(shapes)
        self.metadata = Metadata(openmetrics, self.families)
        if openmetrics:
            self.sample_re, self.body_re, self.pair_re = grammar.OM_SAMPLE, grammar.OM_BODY, grammar.OM_PAIR
        else:
            self.sample_re, self.body_re, self.pair_re = (
                grammar.TEXT_SAMPLE,
                grammar.TEXT_BODY,
                grammar.TEXT_PAIR,
            )
        self.first = 1
        """The number of the current chunk's first line."""
        self._start([])

    def _start(self, lines: list[str]) -> None:
        """Begin a chunk (or, with no lines, forget the last one while the caller has it)."""
        self.lines = lines
        self.out: list[Sample] = []
        self.read = 0
        """How many of ``out`` the metadata has read (``Metadata.read``)."""
        self.labels_memo: dict[str, list[tuple[str, str]]] = {}
        self.built = self.built_labels = self.built_chars = self.comment_chars = 0
        """For the budget: label sets built in this chunk, their labels and their text, and
        the text of its comment lines (the rest is kept, as the keys of the series seen)."""

    def chunks(self, data: bytes) -> Iterator[list[Sample]]:
        view = memoryview(data)
        for start, stop, last in body.chunks(data, self.openmetrics):
            # nothing of the chunk but its samples is held while the caller has them
            yield self._chunk(*body.decode(view, start, stop, last))
        self.cache.commit(self.openmetrics, self.seen, self.families, self.shapes)

    def _chunk(self, text: str, lines: list[str]) -> list[Sample]:
        """Parse one chunk's lines. The cyclic GC is paused meanwhile: parsing allocates
        thousands of acyclic tuples and lists, and the collections they would trigger (each
        walking every live container) cost more than the parse itself."""
        self._start(lines)
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._lines(text)
        finally:
            if was_enabled:
                gc.enable()
        self._read()
        out = self.out
        kept_chars = len(text) - self.comment_chars + self.built_chars
        self.budget.charge(len(out), self.built, self.built_labels, kept_chars * (1 if text.isascii() else 4))
        self.first += len(lines)
        self._start([])
        return out

    def _lines(self, text: str) -> None:
        lines = self.lines
        count = len(lines)
        odd = _ODD_WHITESPACE + "\t" if self.openmetrics else _ODD_WHITESPACE
        if any(char in text for char in odd):
            for index in range(count):
                self._line(index)
            return
        parts = list(map(_RPARTITION, lines))
        keys = list(map(_KEY, parts))
        values = list(map(_VALUE, parts))
        del parts
        hits: list[Entry | None] = list(map(self.known.get, keys))
        special = list(map(or_, map(_SPECIAL, lines), map(not_, lines)))
        start = 0
        while start < count:
            stop = _index(special, True, start, count)
            if stop > start:
                self._run(start, stop, hits, keys, values)
            start = _index(special, False, stop, count)
            if start > stop:
                self._comments(stop, start)

    def _comments(self, start: int, stop: int) -> None:
        """Lines ``start:stop`` are comments, blank or start with a blank. In text 0.0.4 a run
        of blank lines and plain comments changes nothing, and is skipped in C."""
        lines = self.lines[start:stop]
        if not self.openmetrics:
            joined = "\n".join(lines)
            if "HELP" not in joined and "TYPE" not in joined and not any(map(_BLANK_START, lines)):
                self.comment_chars += len(joined)
                return
        for index in range(start, stop):
            self._line(index)

    def _read(self) -> None:
        """Let the metadata read the samples produced since it last did."""
        if self.read < len(self.out):
            self.metadata.read(self.out[self.read :])
            self.read = len(self.out)

    def _run(
        self, start: int, stop: int, hits: list[Entry | None], keys: list[str], values: list[str]
    ) -> None:
        """Lines ``start:stop`` all hit the cache: only their values need parsing."""
        run: list[Entry] = hits[start:stop]  # type: ignore[assignment]
        texts = values[start:stop]
        if None not in run and list(map(_CONTEXT, run)).count(self.metadata.context) == len(run):
            try:
                floats = list(map(float, texts))
            except ValueError:
                floats = []
            if len(floats) == len(run) and grammar.check_floats(texts, floats) < 0:
                self.out.extend(
                    map(
                        Sample,
                        map(_NAME, run),
                        map(_LABELS, run),
                        floats,
                        repeat(None),
                        map(_FAMILY, run),
                        repeat(None),
                        map(_SCRATCH, run),
                    )
                )
                self.seen.update(zip(keys[start:stop], run, strict=True))
                return
        self._cold(start, stop, keys, values)

    def _cold(self, start: int, stop: int, keys: list[str], values: list[str]) -> None:  # noqa: PLR0912
        """Lines ``start:stop`` are sample lines not (all) in the cache: parse them in bulk when
        they have the plain shape ``name{a="1",b="2"} value``, else line by line."""
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
                        self._cold(begin, index, keys, values)
                    self._line(index)
                    begin = index + 1
            if stop > begin:
                self._cold(begin, stop, keys, values)
            return
        if grammar.PLAIN_LINES.fullmatch(joined) is None:
            for index in range(start, stop):
                self._line(index)
            return
        texts = values[start:stop]
        try:
            floats = list(map(float, texts))
        except ValueError:
            floats = []
        if len(floats) != len(texts) or grammar.check_floats(texts, floats) >= 0:
            for index in range(start, stop):
                self._line(index)
            return
        series = keys[start:stop]
        heads = list(map(_PARTITION_BRACE, series))
        names = list(map(_KEY, heads))
        bodies = list(map(_BODY, map(_VALUE, heads)))
        del heads
        shapes = grammar.PLAIN_VALUE.sub("=", "\n".join(bodies)).split("\n")
        infos: list[Any] = list(map(self.shapes.get, shapes))
        if None in infos:
            for index, info in enumerate(infos):
                if info is None:
                    infos[index] = self._shape(shapes[index], self.first + start + index)
        labels = list(
            map(
                tuple,
                map(
                    zip,
                    map(_SHAPE_NAMES, infos),
                    map(
                        call,
                        map(_SHAPE_PICK, infos),
                        map(add, map(_ODD, map(_SPLIT_QUOTES, bodies)), map(_SHAPE_CONSTANTS, infos)),
                    ),
                ),
            )
        )
        metadata = self.metadata
        found = list(map(metadata.members.get, names))
        missing = any(map(is_, found, repeat(None)))
        families: list[Family] = list(map(metadata.family, names)) if missing else found  # type: ignore[assignment]
        scratch: Iterable[dict[str, object] | None] = (
            map(dict, repeat((), len(names))) if self.keep else repeat(None)
        )
        entries: list[Entry] = list(zip(names, labels, families, scratch, repeat(metadata.context)))
        self.out.extend(
            map(Sample, names, labels, floats, repeat(None), families, repeat(None), map(_SCRATCH, entries))
        )
        self.built += len(entries)
        self.built_labels += sum(map(len, labels))
        self.built_chars += len(joined)
        room = self.cache.max_series - len(self.seen)
        if room > 0:
            self.seen.update(zip(series[:room], entries[:room], strict=False))

    def _shape(self, shape: str, number: int) -> _Shape:
        """How to build the final labels of every series whose label set has this shape (its
        label names, which values are empty); computed once per distinct shape."""
        info = self.shapes.get(shape)
        if info is not None:
            return info
        items = [item.partition("=") for item in shape.split(",") if item]
        names = [name for name, _, _ in items]
        if len(set(names)) != len(names) or "__name__" in names:
            pairs = [(name, "") for name in names]
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number)
        # placeholders told apart by identity: a target label's value may be any string
        marked = [(name, f"\0{index}") for index, (name, _, empty) in enumerate(items) if not empty]
        position = {id(value): int(value[1:]) for _, value in marked}
        final = self.finish(marked)
        constants: list[str] = []
        pick: list[int] = []
        for _, value in final:
            index = position.get(id(value))
            if index is None:
                index = len(items) + len(constants)
                constants.append(value)
            pick.append(index)
        getter = itemgetter(*pick, 0) if pick else itemgetter(slice(0, 0))
        info = (tuple(name for name, _ in final), getter, constants)
        self.shapes[shape] = info
        return info

    def _line(self, index: int) -> None:
        line = self.lines[index]
        number = self.first + index
        if not line:
            if self.openmetrics:
                raise ParseError("empty line (not allowed in OpenMetrics)", number)
            return
        first = line[0]
        if first == "#":
            self._read()
            self.comment_chars += len(line)
            self.metadata.comment(line, number)
        elif (first in {" ", "\t"}) and not self.openmetrics:
            stripped = line.lstrip(" \t")
            if stripped.startswith("#"):
                self._read()
                self.comment_chars += len(line)
                self.metadata.comment(stripped, number)
            elif stripped:
                raise ParseError("sample line starts with whitespace", number)
        else:
            self._sample(line, number)

    # -- samples ---------------------------------------------------------------------------

    def _sample(self, line: str, number: int) -> None:
        match = self.sample_re.fullmatch(line)
        if match is None:
            raise ParseError(self._diagnose(line), number)
        value_at = match.start(3)
        key = line[: value_at - 1] if line[value_at - 1] == " " else None
        entry = self.known.get(key) if key is not None else None
        context = self.metadata.context
        if entry is None or entry[4] is not context:
            name = match.group(1)
            set_text = match.group(2)
            labels = self.finish(self._labels(set_text, number) if set_text else [])
            entry = (name, labels, self.metadata.family(name), {} if self.keep else None, context)
            self.built += 1
            self.built_labels += len(labels)
            self.built_chars += value_at
        if key is not None and len(self.seen) < self.cache.max_series:
            self.seen[key] = entry
        try:
            value = grammar.parse_float(match.group(3))
            timestamp = match.group(4)
            timestamp_ms = None if timestamp is None else grammar.parse_timestamp(timestamp, self.openmetrics)
        except ValueError as exc:
            raise ParseError(str(exc), number) from None
        exemplar = None
        if self.openmetrics and match.group(5) is not None:
            exemplar = self._exemplar(match.group(5), match.group(6), match.group(7), number)
        self.out.append(Sample(entry[0], entry[1], value, timestamp_ms, entry[2], exemplar, entry[3]))

    def _labels(self, text: str, number: int) -> list[tuple[str, str]]:
        """The label pairs of a label set: unescaped, empty values dropped, duplicates refused."""
        memo = self.labels_memo.get(text)
        if memo is not None:
            return list(memo)
        if self.body_re.fullmatch(text) is None:
            raise ParseError(self._diagnose_labels(text), number)
        pairs: list[tuple[str, str]] = self.pair_re.findall(text)
        if "\\" in text:
            try:
                pairs = [(name, grammar.unescape(value)) for name, value in pairs]
            except ValueError as exc:
                raise ParseError(str(exc), number) from None
        names = dict(pairs)
        if len(names) != len(pairs) or "__name__" in names:
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number)
        if '""' in text:
            pairs = [pair for pair in pairs if pair[1]]
        self.labels_memo[text] = pairs
        return list(pairs)

    def _exemplar(self, set_text: str, value: str, timestamp: str | None, number: int) -> Exemplar:
        pairs = self._labels(set_text, number) if set_text else []
        self.built += 1
        self.built_labels += len(pairs)
        self.built_chars += len(set_text)
        try:
            return Exemplar(
                tuple(sorted(pairs)),
                grammar.parse_float(value),
                None if timestamp is None else grammar.parse_timestamp(timestamp, True),
            )
        except ValueError as exc:
            raise ParseError(f"exemplar: {exc}", number) from None

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
        if self.openmetrics and ("\t" in line or "  " in line):
            return f"OpenMetrics separates tokens by exactly one space: {line[:80]!r}"
        if not rest.strip(" \t") or rest.rstrip(" \t").endswith("}"):
            return f"expected a value after the metric in {line[:80]!r}"
        return f"invalid sample line {line[:120]!r}"

    def _diagnose_labels(self, text: str) -> str:
        if _unterminated(text):
            return f"unterminated quoted label value in {{{text[:80]}}}"
        return f"invalid label set {{{text[:100]}}}"


def _index(flags: list[bool], flag: bool, start: int, count: int) -> int:
    """The first index from ``start`` whose flag is ``flag``, else ``count``."""
    try:
        return flags.index(flag, start)
    except ValueError:
        return count


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


def parse_chunks(
    data: bytes, openmetrics: bool, cache: SeriesCache, keep: bool, budget: ScrapeBudget
) -> Iterator[list[Sample]]:
    """Parse an exposition chunk by chunk; ``keep`` gives new entries a sink scratch dict.
    The cache is committed once the last chunk was taken and the generator resumed."""
    return _Parse(openmetrics, cache, keep, budget).chunks(data)
