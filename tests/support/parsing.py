"""Reading expositions in tests: the parser alone (raw series), or through a series cache.

``parse_exposition(data, content_type)`` gives what the parse stage found, one ``RawSample``
per sample line (labels sorted, the exposed timestamp or ``None``); with a ``SeriesCache`` it
gives the scrape stage's ``Sample`` objects (final labels, refs), stamped ``SCRAPE_MS`` where
the exposition has no timestamp. ``parse_chunks`` is the same, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from scrape_push.labels import LabelFinisher
from scrape_push.limits import ScrapeBudget
from scrape_push.model import Exemplar, Family, Labels, Sample
from scrape_push.parse import Chunk, Families, KnownSeries, format_for, plain_values, shape_labels
from scrape_push.scrape import SeriesCache

SCRAPE_MS = 1_000
"""The scrape time of every read through a series cache."""


class RawSample(NamedTuple):
    """One sample line as the parser read it."""

    name: str
    labels: Labels
    value: float
    timestamp_ms: int | None
    family: Family
    exemplar: Exemplar | None = None


def raw_samples(chunk: Chunk[KnownSeries]) -> list[RawSample]:
    """The sample lines of a chunk parsed with nothing known (every series is new)."""
    lines: list[tuple[str, Labels, Family] | None] = [None] * len(chunk.values)
    plain = chunk.plain
    for at, name, family, shape, values in zip(
        plain.at,
        plain.names,
        plain.families,
        plain.shapes,
        plain_values(plain.labels),
        strict=True,  # type: ignore[arg-type]
    ):
        pairs = [
            (label, value) for (label, kept), value in zip(shape_labels(shape), values, strict=True) if kept
        ]  # type: ignore[misc]
        lines[at] = (name, tuple(sorted(pairs)), family)
    for at, name, family, pairs in zip(
        chunk.parsed.at, chunk.parsed.names, chunk.parsed.families, chunk.parsed.labels, strict=True
    ):
        lines[at] = (name, tuple(sorted(pairs)), family)  # type: ignore[arg-type]
    stamps = chunk.timestamps or [None] * len(lines)
    exemplars = chunk.exemplars or [None] * len(lines)
    out = []
    for line, value, stamp, exemplar in zip(lines, chunk.values, stamps, exemplars, strict=True):
        assert line is not None
        out.append(RawSample(line[0], line[1], value, stamp, line[2], exemplar))
    return out


def parse_chunks(
    data: bytes,
    content_type: str | None = None,
    cache: SeriesCache | None = None,
    budget: ScrapeBudget | None = None,
    strict: bool = False,
) -> Iterator[list[RawSample]] | Iterator[list[Sample]]:
    if cache is not None:
        return cache.read(data, content_type, SCRAPE_MS, budget=budget, strict=strict)
    assert budget is None
    return (raw_samples(chunk) for chunk in format_for(content_type).chunks(data, {}, Families(), strict))


def parse_exposition(
    data: bytes,
    content_type: str | None = None,
    cache: SeriesCache | None = None,
    budget: ScrapeBudget | None = None,
    strict: bool = False,
) -> list[RawSample] | list[Sample]:
    chunks = parse_chunks(data, content_type, cache, budget, strict)
    return [sample for chunk in chunks for sample in chunk]  # type: ignore[misc]


def scraped(data: bytes, content_type: str | None, scrape_ms: int, labels: Labels = ()) -> list[Sample]:
    """A body's samples as a scrape at ``scrape_ms`` gives them, with the target labels
    ``labels`` added (they must not clash with the exposed ones)."""
    return SeriesCache(LabelFinisher(labels)).samples(data, content_type, scrape_ms)
