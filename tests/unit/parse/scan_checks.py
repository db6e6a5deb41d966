"""What the scan kernel's results are checked against (its pure-Python reference), for its
differential tests (``test_scan_native.py``) and its fuzzer (``tests/fuzz/fuzz_scan.py``): each
function raises ``AssertionError`` where the kernel and the reference differ.

Values are compared by their bits (``-0.0`` is not ``0.0``, and a NaN is Prometheus's), every
other column by equality, and a known series' entry by identity.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import ModuleType
from unittest.mock import patch

from scrape_push.parse import (
    KNOWN_CONTEXT,
    Chunk,
    Families,
    KnownSeries,
    ParseError,
    body,
    format_for,
    parser,
)
from scrape_push.parse.dialects import OPENMETRICS, TEXT
from scrape_push.scrape import SeriesCache


@contextmanager
def kernel_off() -> Iterator[None]:
    """The pure-Python path: what a machine without the kernel runs."""
    with patch.object(parser, "_KERNEL", None):
        yield


def bits(value: object) -> object:
    """A value as its bits when it is a float (``-0.0`` is not ``0.0``; NaN's payload counts)."""
    return ("float", struct.pack("<d", value)) if type(value) is float else value


def all_bits(values: list[float] | None) -> object:
    return None if values is None else [bits(value) for value in values]


def has_surrogates(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def check_scan(
    kernel: ModuleType, text: str, last: bool, known: dict[str, KnownSeries], position: int
) -> None:
    """The kernel's ``scan`` is ``_scan`` over the chunk's lines, with its values read as
    ``_floats`` reads them."""
    found = kernel.scan(text, last, known, position)
    if has_surrogates(text):  # not UTF-8: never a chunk the kernel is given (it reads it line by line)
        assert found is None
        return
    scan = parser._Scan._make(found)
    lines = body.lines(text, last)
    reference = parser._scan(lines, known)
    assert (scan.lines, scan.special, scan.keys, scan.missing, scan.sample_chars) == (
        reference.lines,
        reference.special,
        reference.keys,
        reference.missing,
        reference.sample_chars,
    )
    assert len(scan.hits) == len(reference.hits)
    assert all(mine is theirs for mine, theirs in zip(scan.hits, reference.hits, strict=True))
    pieces = parser._COMMENT_RUNS.split(reference.special)
    assert scan.comments == parser._comment_runs(lines, reference.special, pieces)
    assert list(scan.odd) == sorted(set(scan.odd))
    odd = set(scan.odd)
    for at, (mine, value) in enumerate(zip(scan.values, reference.values, strict=True)):
        if at in odd:
            assert type(mine) is str and mine == value
        else:  # read by the kernel: as Python and Prometheus read it
            assert type(mine) is float and all_bits(parser._floats([value])) == [bits(mine)], value  # type: ignore[list-item]
    assert all_bits(parser._values(scan.values, scan.odd)) == all_bits(parser._floats(reference.values))  # type: ignore[arg-type]
    assert scan.position >= 0


def check_label_sets(kernel: ModuleType, keys: list[str], openmetrics: bool) -> None:
    """The kernel's ``label_sets`` is ``_plain_label_sets`` (the plain lines' pattern), for the
    series texts together and for each alone (one that is not plain hides the others)."""
    dialect = OPENMETRICS if openmetrics else TEXT
    trailing = not openmetrics
    for some in [keys, *([key] for key in keys)]:
        found = kernel.label_sets(some, trailing)
        with kernel_off():
            reference = parser._plain_label_sets(some, dialect.plain, trailing)
        if found is None and any(map(has_surrogates, some)):
            continue  # not UTF-8: never a chunk the bulk paths read
        assert found == reference, some


def warm_state(before: bytes, content_type: str) -> tuple[SeriesCache, Families]:
    cache = SeriesCache()
    with suppress(ParseError):
        list(cache.read(before, content_type, 1000))
    return cache, cache.families.copy()


def check_blocks(
    kernel: ModuleType, cache: SeriesCache, families: Families, data: bytes, dialect: object
) -> None:
    """The kernel's ``blocks`` gives what ``_Parse._blocks`` gives for each chunk of ``data``, or
    leaves it to it only where an entry's block is equal to, not the very block of its line."""
    parse = parser._Parse(dialect, cache.entries, families, False, None)  # type: ignore[arg-type]
    view = memoryview(data)
    spans = []
    with suppress(ParseError):  # (the chunks before a misplaced # EOF)
        spans += body.chunks(data, dialect, False)  # type: ignore[arg-type]
    for start, stop, last in spans:
        text, _ = body.decode(view, start, stop)
        lines = body.lines(text, last)
        scan = parser._scan(lines, cache.entries)
        if scan.missing:  # (not a chunk of known series: the blocks after it are another path's)
            return
        comments, _ = parser._comment_runs(lines, scan.special, parser._COMMENT_RUNS.split(scan.special))
        metadata = parse.metadata
        found = kernel.blocks(
            scan.special, comments, metadata.runs, metadata.context, scan.hits, KNOWN_CONTEXT
        )
        reference = parse._blocks(scan.special, comments, scan.hits, None)
        if found is not None or reference is None:
            assert found == reference
            assert found is None or found[0] is reference[0]  # type: ignore[index]
        else:  # an entry read under a block equal to its line's, not that very block
            afters = metadata.after(comments)
            assert afters is not None
            pieces = parser._COMMENT_RUNS.split(scan.special)
            blocks = [
                b
                for b, n in zip([metadata.context, *afters], map(len, pieces[::2]), strict=True)
                for _ in range(n)
            ]
            assert any(h[KNOWN_CONTEXT] is not b for h, b in zip(scan.hits, blocks, strict=True))  # type: ignore[index]
        if reference is not None:
            metadata.context = reference[0]


def columns(chunk: Chunk[KnownSeries]) -> tuple[object, ...]:
    """Everything a chunk hands on, values by their bits."""
    new = [
        (list(n.at), n.names, n.families, n.contexts, n.shapes, n.labels, n.repeated)
        for n in (chunk.plain, chunk.parsed)
    ]
    return (
        chunk.keys,
        [id(entry) for entry in chunk.known],
        all_bits(chunk.values),
        chunk.timestamps,
        chunk.exemplars and [e and (e.labels, bits(e.value), e.timestamp_ms) for e in chunk.exemplars],
        new,
        chunk.label_sets,
        chunk.labels,
        chunk.text_bytes,
        chunk.first,
        chunk.span,
        chunk.unkeyed,
    )


def parsed(data: bytes, content_type: str, cache: SeriesCache, families: Families, strict: bool) -> object:
    """Each chunk's columns, then the error if any (with the lines before it), then the table."""
    found: list[object] = []
    texts = cache.texts
    try:
        for chunk in format_for(content_type).chunks(data, cache.entries, families, strict, texts=texts):
            found.append(columns(chunk))
    except ParseError as exc:
        partial = None if exc.partial is None else columns(exc.partial)  # type: ignore[arg-type]
        found.append(("error", exc.line, exc.reason, exc.appended, partial))
    found.append((set(families), {d: dict(r) for d, r in families.runs.items()}, families.held))
    return found


def both_ways(
    before: list[bytes], data: bytes, content_type: str, strict: bool = False
) -> tuple[object, object]:
    """``data`` parsed after ``before`` (a cache that read them, warm), with and without the kernel,
    from equal states."""
    cache, families = warm_state(b"", content_type)
    for first in before:
        with suppress(ParseError):
            list(cache.read(first, content_type, 1000))
    families = cache.families
    on = parsed(data, content_type, cache, families.copy(), strict)
    with kernel_off():
        off = parsed(data, content_type, cache, families.copy(), strict)
    return on, off
