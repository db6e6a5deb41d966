"""What a format's parser yields: the sample lines of one chunk of the body, as columns.

Every sample line is either a series the caller already knew (looked up by its series text in
the mapping the caller handed the parser, and read under the same metadata block as when the
caller learnt it) or a new series, of which the parser gives the name, the family and the raw
label pairs. The parser knows nothing of targets: what a known series stands for is the
caller's (the start of its entry is all the parser reads, ``KnownSeries``), and turning raw
labels into final ones is the scrape stage's work.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter, methodcaller
from typing import Any, Final, Generic, TypeVar

from ..model import Exemplar, Family, NativeHistogram

KnownSeries = tuple[Any, ...]
"""The caller's entry of a series it knows (a tuple, built in bulk), which starts with what the
parser reads of it: the metric name as exposed (``KNOWN_NAME``), the family (``KNOWN_FAMILY``)
and the metadata block (``# TYPE``/``HELP``/``UNIT``) it was read under (``KNOWN_CONTEXT``): the
entry holds for a line only while that block is the very same object (families are interned).
What follows is the caller's."""

KNOWN_NAME: Final = 0
KNOWN_FAMILY: Final = 1
KNOWN_CONTEXT: Final = 2

K = TypeVar("K", bound=KnownSeries)

_SPLIT_QUOTES: Final = methodcaller("split", '"')
_ODD: Final = itemgetter(slice(1, None, 2))


PlainTexts = dict[str, tuple[str, str, str]]
"""Series texts of the plain shape ``name{a="1",b=""}`` that a parse validated (its label-set
shape included), each with its metric name, its label set (the text between the braces) and its
shape (``shape_labels``): a fleet's targets expose the same series, so that a cold parse of one
body takes what the parse of another one read (the scrape stage keeps them for one cycle)."""


class Repeated(list[tuple[str, str]]):
    """The label pairs of a series that repeats a label name (``a{job="x",job="y"}``) or has a
    ``__name__`` label (a second metric name), as exposed: in order, empty values included.
    Prometheus's scrape loop decides what they become: a target label replaces every label of
    its name (the first value kept as ``exported_``), metric relabeling may set or drop a name,
    and a name still repeated then fails the scrape at its TSDB; the parser hands them on for
    the scrape stage to decide."""

    __slots__ = ()


@dataclass(slots=True)
class NewSeries:
    """Sample lines of a chunk whose series the caller did not know, as parallel columns."""

    at: range | list[int] = range(0)
    """Their positions among the chunk's sample lines, in order (a ``range`` while they are
    consecutive, as on a cold scrape)."""
    names: list[str] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    contexts: list[Family | None] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)
    """Plain lines only: each label set's shape (see ``shape_labels``)."""
    labels: list[str] | list[list[tuple[str, str]]] = field(default_factory=list)
    """Plain lines: each label set's text between the braces, without escapes (``plain_values``
    gives its values); other lines: the label pairs, unescaped, without empty values (or
    ``Repeated``)."""
    repeated: list[int] = field(default_factory=list)
    """Which of them (indices into these columns) have ``Repeated`` label pairs."""


@dataclass(slots=True)
class Chunk(Generic[K]):
    """The sample lines of one chunk, in exposition order."""

    keys: list[str | None] = field(default_factory=list)
    """Each line's series text: everything before its value; ``None`` when the value does not
    follow a space (``a{x="1"}1``), so that no other line's text can look the same."""
    unkeyed: bool = False
    """Whether some of ``keys`` are ``None``."""
    known: list[K | None] = field(default_factory=list)
    """The caller's entry of each line's series, ``None`` for a new series."""
    values: list[float] = field(default_factory=list)
    timestamps: list[int | None] | None = None
    """The exposed timestamps in ms (``None`` where a line has none); ``None``: no line has one."""
    exemplars: list[Exemplar | None] | None = None
    """``None``: no line has an exemplar."""
    histograms: list[NativeHistogram | None] | None = None
    """Native histogram lines' values (their ``values`` are NaN); ``None``: no line has one."""
    plain: NewSeries = field(default_factory=NewSeries)
    """New series of the common shape ``name{a="1",b="2"}``, parsed in bulk."""
    parsed: NewSeries = field(default_factory=NewSeries)
    """Every other new series."""
    label_sets: int = 0
    """Label sets the parse built for the memory budget: new series and exemplars."""
    labels: int = 0
    """Labels of the exemplars (the caller counts those of the final label sets it builds)."""
    text_bytes: int = 0
    """What the samples and the new series keep of the chunk's text, in bytes."""
    first: int = 1
    """The number of the chunk's first line in the body."""
    span: tuple[int, int] = (0, 0)
    """Where the chunk's text is in the body, in bytes (``sample_line``)."""

    def head(self, count: int) -> Chunk[K]:
        """The chunk of the first ``count`` sample lines only."""
        return Chunk(
            self.keys[:count],
            self.unkeyed,
            self.known[:count],
            self.values[:count],
            None if self.timestamps is None else self.timestamps[:count],
            None if self.exemplars is None else self.exemplars[:count],
            None if self.histograms is None else self.histograms[:count],
            _head(self.plain, count),
            _head(self.parsed, count),
            first=self.first,
            span=self.span,
        )


def _head(new: NewSeries, count: int) -> NewSeries:
    """The new series at the first ``count`` positions of their chunk."""
    taken = bisect_left(new.at, count)
    return NewSeries(
        new.at[:taken],
        new.names[:taken],
        new.families[:taken],
        new.contexts[:taken],
        new.shapes[:taken],
        new.labels[:taken],
        [index for index in new.repeated if index < taken],
    )


def add_positions(new: NewSeries, start: int, stop: int) -> None:
    """Add positions ``start:stop`` to ``new.at``."""
    at = new.at
    if isinstance(at, range) and (at.stop == start or not at):
        new.at = range(at.start if at else start, stop)
    elif isinstance(at, range):
        new.at = [*at, *range(start, stop)]
    else:
        at += range(start, stop)


def plain_values(label_sets: Iterable[str]) -> Iterator[list[str]]:
    """The values of plain label sets in order, empty ones included (the shape says which label
    each is), one at a time: ``a="1",b=""`` -> ``["1", ""]``."""
    return map(_ODD, map(_SPLIT_QUOTES, label_sets))


def shape_labels(shape: str) -> list[tuple[str, bool]]:
    """The labels of a label-set shape, in order: each label's name and whether its value is
    kept (Prometheus drops every label of a name that has an empty value).

    A shape is a plain label set with each non-empty value taken out, e.g. ``a=,b="",c=`` for
    ``a="1",b="",c="x"``; the parser refuses a shape with a repeated kept label before handing
    it out.

    >>> shape_labels('a=,b="",c=')
    [('a', True), ('b', False), ('c', True)]
    >>> shape_labels('a=,a=""')
    [('a', False), ('a', False)]
    """
    labels = [
        (name, not empty) for name, _, empty in (item.partition("=") for item in shape.split(",") if item)
    ]
    if '""' in shape:
        empty = {name for name, kept in labels if not kept}
        labels = [(name, kept and name not in empty) for name, kept in labels]
    return labels
