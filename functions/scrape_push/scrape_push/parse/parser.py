"""The line loop shared by both formats: bulk work for cached series, careful work for the rest.

A scrape body is split into lines once. Every line is cut at its last space (C-level ``map``)
into what would be a series text and a value, and the series texts are looked up in the
target's ``SeriesCache`` in one pass. Runs of consecutive hits (everything between two comment
lines, on a warm scrape) become ``Sample`` objects in bulk: one ``float()`` per value and no
label work at all. Every other line -- comments, new series, timestamps, exemplars, anything
odd -- goes through ``_line``, which applies the full grammar and reports the line number.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from dataclasses import replace
from itertools import repeat
from operator import add, attrgetter, call, is_, itemgetter, methodcaller, not_, or_
from typing import Any, Final

from ..model import Exemplar, Family, MetricType, Sample
from . import grammar
from .cache import Entry, SeriesCache
from .errors import ParseError

_RPARTITION: Final = methodcaller("rpartition", " ")
_KEY, _VALUE = itemgetter(0), itemgetter(2)
_NAME, _LABELS, _FAMILY, _SCRATCH, _CONTEXT = (itemgetter(i) for i in range(5))
_SAMPLE_NAME: Final = attrgetter("name")
_SAMPLE_FAMILY: Final = attrgetter("family")

_SPECIAL: Final = methodcaller("startswith", ("#", " ", "\t"))
_PARTITION_BRACE: Final = methodcaller("partition", "{")
_BODY: Final = itemgetter(slice(0, -1))
_SPLIT_QUOTES: Final = methodcaller("split", '"')
_ODD: Final = itemgetter(slice(1, None, 2))
_SHAPE_NAMES, _SHAPE_PICK, _SHAPE_CONSTANTS = (itemgetter(i) for i in range(3))

_Shape = tuple[tuple[str, ...], "itemgetter[Any]", list[str]]
"""(final label names, picker of their values from body values + constants, constants)."""

_ODD_WHITESPACE: Final = "\r\x0b\x0c\x1c\x1d\x1e\x1f"
"""Characters Python's ``float()`` strips but Go's ``ParseFloat`` refuses; rare, so their mere
presence in a body sends every line through the careful path."""


class _Parse:
    """One parse of one exposition (state for a single call)."""

    def __init__(self, text: str, openmetrics: bool, cache: SeriesCache, keep: bool) -> None:
        self.openmetrics = openmetrics
        self.cache = cache
        self.keep = keep
        self.finish = cache.finish
        self.known = cache.begin(openmetrics)
        self.seen: dict[str, Entry] = {}
        self.out: list[Sample] = []
        self.default_type: MetricType = "unknown" if openmetrics else "untyped"
        self.context: Family | None = None
        self.members: dict[str, Family] = {}
        self.typed: dict[str, str] = {}
        self.names: dict[str, Family] = {}
        self.named = 0
        self.labels_memo: dict[str, list[tuple[str, str]]] = {}
        self.shapes: dict[str, _Shape] = cache.shapes
        if openmetrics:
            self.sample_re, self.body_re, self.pair_re = grammar.OM_SAMPLE, grammar.OM_BODY, grammar.OM_PAIR
        else:
            self.sample_re, self.body_re, self.pair_re = (
                grammar.TEXT_SAMPLE,
                grammar.TEXT_BODY,
                grammar.TEXT_PAIR,
            )
        self.lines = self._split(text)

    def _split(self, text: str) -> list[str]:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        if self.openmetrics:
            if not lines or lines[-1] != "# EOF":
                if "# EOF" in lines:
                    raise ParseError("unexpected data after # EOF", lines.index("# EOF") + 2)
                raise ParseError("data does not end with # EOF", len(lines) or 1)
            lines.pop()
        return lines

    def run(self, text: str) -> list[Sample]:
        lines = self.lines
        count = len(lines)
        odd = _ODD_WHITESPACE + "\t" if self.openmetrics else _ODD_WHITESPACE
        if any(char in text for char in odd):
            for number in range(count):
                self._line(number)
        else:
            parts = list(map(_RPARTITION, lines))
            keys = list(map(_KEY, parts))
            values = list(map(_VALUE, parts))
            del parts
            hits: list[Entry | None] = list(map(self.known.get, keys))
            special = list(map(or_, map(_SPECIAL, lines), map(not_, lines)))
            find = special.index
            start = 0
            while start < count:
                try:
                    stop = find(True, start)
                except ValueError:
                    stop = count
                if stop > start:
                    self._run(start, stop, hits, keys, values)
                if stop < count:
                    self._line(stop)
                start = stop + 1
        self.cache.commit(self.seen)
        return self.out

    def _run(
        self, start: int, stop: int, hits: list[Entry | None], keys: list[str], values: list[str]
    ) -> None:
        """Lines ``start:stop`` all hit the cache: only their values need parsing."""
        run: list[Entry] = hits[start:stop]  # type: ignore[assignment]
        texts = values[start:stop]
        if None not in run and list(map(_CONTEXT, run)).count(self.context) == len(run):
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
            plain = [number for number in range(start, stop) if "\\" not in self.lines[number]]
            if len(plain) * 2 < stop - start:
                for number in range(start, stop):
                    self._line(number)
                return
            first = start
            for number in range(start, stop):
                if "\\" in self.lines[number]:
                    if number > first:
                        self._cold(first, number, keys, values)
                    self._line(number)
                    first = number + 1
            if stop > first:
                self._cold(first, stop, keys, values)
            return
        if grammar.PLAIN_LINES.fullmatch(joined) is None:
            for number in range(start, stop):
                self._line(number)
            return
        texts = values[start:stop]
        try:
            floats = list(map(float, texts))
        except ValueError:
            floats = []
        if len(floats) != len(texts) or grammar.check_floats(texts, floats) >= 0:
            for number in range(start, stop):
                self._line(number)
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
                    infos[index] = self._shape(shapes[index], start + index)
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
        found = list(map(self.members.get, names))
        missing = any(map(is_, found, repeat(None)))
        families: list[Family] = list(map(self._family, names)) if missing else found  # type: ignore[assignment]
        scratch: Iterable[dict[str, object] | None] = (
            map(dict, repeat((), len(names))) if self.keep else repeat(None)
        )
        entries: list[Entry] = list(zip(names, labels, families, scratch, repeat(self.context)))
        self.out.extend(
            map(Sample, names, labels, floats, repeat(None), families, repeat(None), map(_SCRATCH, entries))
        )
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
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number + 1)
        marked = [(name, f"\0{index}") for index, (name, _, empty) in enumerate(items) if not empty]
        final = self.finish(marked)
        constants: list[str] = []
        pick: list[int] = []
        for _, value in final:
            if value.startswith("\0"):
                pick.append(int(value[1:]))
            else:
                pick.append(len(items) + len(constants))
                constants.append(value)
        getter = itemgetter(*pick, 0) if pick else itemgetter(slice(0, 0))
        info = (tuple(name for name, _ in final), getter, constants)
        self.shapes[shape] = info
        return info

    def _line(self, number: int) -> None:
        line = self.lines[number]
        if not line:
            if self.openmetrics:
                raise ParseError("empty line (not allowed in OpenMetrics)", number + 1)
            return
        first = line[0]
        if first == "#":
            self._comment(line, number)
        elif (first in {" ", "\t"}) and not self.openmetrics:
            stripped = line.lstrip(" \t")
            if stripped.startswith("#"):
                self._comment(stripped, number)
            elif stripped:
                raise ParseError("sample line starts with whitespace", number + 1)
        else:
            self._sample(line, number)

    # -- samples ---------------------------------------------------------------------------

    def _sample(self, line: str, number: int) -> None:
        match = self.sample_re.fullmatch(line)
        if match is None:
            raise ParseError(self._diagnose(line), number + 1)
        value_at = match.start(3)
        key = line[: value_at - 1] if line[value_at - 1] == " " else None
        entry = self.known.get(key) if key is not None else None
        if entry is None or entry[4] is not self.context:
            name = match.group(1)
            body = match.group(2)
            pairs = self._labels(body, number) if body else []
            entry = (name, self.finish(pairs), self._family(name), {} if self.keep else None, self.context)
        if key is not None and len(self.seen) < self.cache.max_series:
            self.seen[key] = entry
        try:
            value = grammar.parse_float(match.group(3))
            timestamp = match.group(4)
            timestamp_ms = None if timestamp is None else grammar.parse_timestamp(timestamp, self.openmetrics)
        except ValueError as exc:
            raise ParseError(str(exc), number + 1) from None
        exemplar = None
        if self.openmetrics and match.group(5) is not None:
            exemplar = self._exemplar(match.group(5), match.group(6), match.group(7), number)
        self.out.append(Sample(entry[0], entry[1], value, timestamp_ms, entry[2], exemplar, entry[3]))

    def _labels(self, body: str, number: int) -> list[tuple[str, str]]:
        """The label pairs of a label set: unescaped, empty values dropped, duplicates refused."""
        memo = self.labels_memo.get(body)
        if memo is not None:
            return list(memo)
        if self.body_re.fullmatch(body) is None:
            raise ParseError(self._diagnose_labels(body), number + 1)
        pairs: list[tuple[str, str]] = self.pair_re.findall(body)
        if "\\" in body:
            try:
                pairs = [(name, grammar.unescape(value)) for name, value in pairs]
            except ValueError as exc:
                raise ParseError(str(exc), number + 1) from None
        names = dict(pairs)
        if len(names) != len(pairs) or "__name__" in names:
            raise ParseError(f'label name "{_duplicate(pairs)}" is not unique', number + 1)
        if '""' in body:
            pairs = [pair for pair in pairs if pair[1]]
        self.labels_memo[body] = pairs
        return list(pairs)

    def _exemplar(self, body: str, value: str, timestamp: str | None, number: int) -> Exemplar:
        pairs = self._labels(body, number) if body else []
        try:
            return Exemplar(
                tuple(sorted(pairs)),
                grammar.parse_float(value),
                None if timestamp is None else grammar.parse_timestamp(timestamp, True),
            )
        except ValueError as exc:
            raise ParseError(f"exemplar: {exc}", number + 1) from None

    def _family(self, name: str) -> Family:
        family = self.members.get(name)
        if family is None:
            family = self.cache.intern(Family(name, self.default_type))
        return family

    # -- metadata ----------------------------------------------------------------------------

    def _comment(self, line: str, number: int) -> None:
        if self.openmetrics:
            if line == "# EOF":
                raise ParseError("unexpected data after # EOF", number + 2)
            kind = line[2:6]
            if not line.startswith("# ") or kind not in ("HELP", "TYPE", "UNIT") or line[6:7] != " ":
                raise ParseError(
                    "invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF", number + 1
                )
            name, separator, text = line[7:].partition(" ")
            if grammar.METRIC_NAME.fullmatch(name) is None:
                raise ParseError(f"invalid metric name {name[:80]!r} after {kind}", number + 1)
            if not separator:
                raise ParseError(f"expected a space and text after the metric name in {kind}", number + 1)
        else:
            match = _TEXT_META.match(line)
            if match is None:
                return
            kind = match.group(1)
            rest = line[match.end() :]
            found = grammar.METRIC_NAME.match(rest)
            if found is None:
                raise ParseError(f"expected metric name after {kind}", number + 1)
            name = found.group()
            text = rest[found.end() + 1 :]
        self._metadata(kind, name, text, number)

    def _metadata(self, kind: str, name: str, text: str, number: int) -> None:
        context = self.context
        if context is None or context.name != name:
            context = Family(name, self.default_type)
        if kind == "TYPE":
            types = grammar.OPENMETRICS_TYPES if self.openmetrics else grammar.TEXT_TYPES
            if text not in types:
                raise ParseError(f"invalid metric type {text[:40]!r}", number + 1)
            self._check_type(name, text, number)
            context = replace(context, type=text)  # type: ignore[arg-type]
        elif kind == "HELP":
            context = replace(context, help=grammar.unescape_help(text, self.openmetrics))
        else:
            if text and (not name.endswith(text) or name[-len(text) - 1 : -len(text)] != "_"):
                raise ParseError(f"unit {text[:40]!r} is not a suffix of metric {name!r}", number + 1)
            context = replace(context, unit=text)
        self.context = context = self.cache.intern(context)
        self.members = {name + suffix: context for suffix in grammar.SUFFIXES[context.type]}

    def _check_type(self, name: str, type_: str, number: int) -> None:
        """Refuse a TYPE line that contradicts an earlier one, or that comes after samples of
        its family which were therefore read as another family (stricter than Prometheus)."""
        earlier = self.typed.setdefault(name, type_)
        if earlier != type_:
            raise ParseError(
                f"TYPE {type_} for {name!r} conflicts with its earlier TYPE {earlier}", number + 1
            )
        done = self.out[self.named :]
        self.names.update(zip(map(_SAMPLE_NAME, done), map(_SAMPLE_FAMILY, done), strict=True))
        self.named = len(self.out)
        for suffix in grammar.SUFFIXES[type_]:  # type: ignore[index]
            family = self.names.get(name + suffix)
            if family is not None and (family.name != name or family.type != type_):
                raise ParseError(
                    f"TYPE line for {name!r} comes after its sample "
                    f"{name + suffix!r} (read as {family.type})",
                    number + 1,
                )

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

    def _diagnose_labels(self, body: str) -> str:
        if _unterminated(body):
            return f"unterminated quoted label value in {{{body[:80]}}}"
        return f"invalid label set {{{body[:100]}}}"


_TEXT_META: Final = re.compile(r"#[ \t]+(HELP|TYPE)[ \t]+")


def _unterminated(text: str) -> bool:
    quotes = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quotes += 1
    return quotes % 2 == 1


def _duplicate(pairs: list[tuple[str, str]]) -> str:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen or name == "__name__":
            return name
        seen.add(name)
    return ""


def parse_lines(text: str, openmetrics: bool, cache: SeriesCache, keep: bool) -> list[Sample]:
    """Parse a decoded exposition; ``keep`` gives new entries a sink scratch dict.

    The cyclic garbage collector is paused meanwhile: parsing allocates hundreds of thousands
    of acyclic tuples and lists, and the collections they would trigger (each walking every
    live container) cost more than the parse itself; nothing created here forms a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Parse(text, openmetrics, cache, keep).run(text)
    finally:
        if was_enabled:
            gc.enable()
