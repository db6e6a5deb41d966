"""What a target's new series become: the series cache's entries.

A series the cache did not know gets, once: its final labels (the target's merged in by
``labels.finisher``, in bulk per label-set shape for plain lines), ``metric_relabel_configs``
(``labels.relabel_series``), and a ``SeriesRef`` from the scrape stage's allocator. Entries are
plain tuples made by ``zip``: a cold chunk makes hundreds at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from operator import add, call, itemgetter
from typing import Any, Final

from ..labels import LabelFinisher, Plan, relabel_series, shape_plan
from ..model import Family, Labels, SeriesRef
from ..parse import KNOWN_CONTEXT, KNOWN_FAMILY, NewSeries, plain_values, shape_labels
from ..relabel import RelabelRules

SeriesEntry = tuple[str, Family, Family | None, str, Labels, SeriesRef]
"""What one series text of a target stands for: ``parse.KnownSeries`` first (the metric name as
exposed, the family, the metadata block it was read under), then the final metric name (after
metric relabeling; ``""`` when the rules drop the series), the final labels and the series'
ref."""

SERIES_AT: Final = 5
_FAMILY = itemgetter(KNOWN_FAMILY)
_METRIC, _LABELS, _SERIES = itemgetter(3), itemgetter(4), itemgetter(SERIES_AT)
_PLAN_NAMES, _PLAN_PICK, _PLAN_CONSTANTS = (itemgetter(i) for i in range(3))

Columns = tuple[Iterable[str], Iterable[Labels], Iterable[Family], Iterable[SeriesRef]]
"""What each sample takes from its series' entry (metric, labels, family, ref), as columns."""


def columns(entries: list[SeriesEntry]) -> Columns:
    """The columns of ``entries``."""
    return map(_METRIC, entries), map(_LABELS, entries), map(_FAMILY, entries), map(_SERIES, entries)


def refs_of(entries: Iterable[SeriesEntry]) -> Iterator[SeriesRef]:
    return map(_SERIES, entries)


class Created:
    """The entries a parse made (once per series), with their series texts."""

    __slots__ = ("entries", "keys")

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.entries: list[SeriesEntry] = []


class EntryMaker:
    """Makes the entries of one target's new series."""

    def __init__(self, finish: LabelFinisher, relabel: RelabelRules, refs: Iterator[SeriesRef]) -> None:
        self.finish = finish
        self.relabel = relabel
        self.refs = refs

    def plain_labels(self, new: NewSeries, plans: dict[str, Plan]) -> list[Labels]:
        """The final labels of plain new series, in bulk: one plan per label-set shape (made
        when a shape is first met, kept in ``plans``)."""
        infos: list[Any] = list(map(plans.get, new.shapes))
        if None in infos:
            for index in [index for index, found in enumerate(infos) if found is None]:
                shape = new.shapes[index]
                plan = plans.get(shape)
                if plan is None:
                    plan = plans[shape] = shape_plan(self.finish, shape_labels(shape))
                infos[index] = plan
        return list(
            map(
                tuple,
                map(
                    zip,
                    map(_PLAN_NAMES, infos),
                    map(
                        call,
                        map(_PLAN_PICK, infos),
                        map(add, plain_values(new.labels), map(_PLAN_CONSTANTS, infos)),  # type: ignore[arg-type]
                    ),
                ),
            )
        )

    def parsed_labels(self, new: NewSeries) -> list[Labels]:
        """The final labels of the other new series (their label pairs finished one by one)."""
        return list(map(self.finish, new.labels))  # type: ignore[arg-type]

    def make(
        self,
        new: NewSeries,
        labels: list[Labels],
        keys: list[str | None],
        seen: dict[str, SeriesEntry],
        created: Created,
    ) -> tuple[list[SeriesEntry], Columns | None]:
        """The entries of ``new`` (series texts ``keys``, final labels ``labels``), noted in
        ``created``; and their columns, unless a series repeats (then it has one entry)."""
        if len(set(keys)) == len(keys):
            made, made_columns = self._entries(new.names, labels, new.families, new.contexts)
            created.keys += keys
            created.entries += made
            return made, made_columns
        return self._once_per_series(new, labels, keys, seen, created), None

    def _once_per_series(
        self,
        new: NewSeries,
        labels: list[Labels],
        keys: list[str | None],
        seen: dict[str, SeriesEntry],
        created: Created,
    ) -> list[SeriesEntry]:
        """Entries for new series of which some appear more than once in the chunk (same text,
        same metadata block): each gets one entry, so that repeated lines share one ref and what
        the parse holds stays bounded by the chunk. (A series repeated in a later chunk gets an
        entry of its own there; the one it replaces is retired.)"""
        first: dict[str, int] = {}
        earlier: list[SeriesEntry | int | None] = []
        for index, (key, context) in enumerate(zip(keys, new.contexts, strict=True)):
            before = seen.get(key) if key is not None else None
            if before is not None and before[KNOWN_CONTEXT] is context:
                earlier.append(before)
                continue
            at = first.get(key) if key is not None else None
            if at is not None and new.contexts[at] is context:
                earlier.append(at)
                continue
            if key is not None:
                first[key] = index
            earlier.append(None)
        unique = [index for index, found in enumerate(earlier) if found is None]
        made, _ = self._entries(
            [new.names[i] for i in unique],
            [labels[i] for i in unique],
            [new.families[i] for i in unique],
            [new.contexts[i] for i in unique],
        )
        created.keys += [keys[i] for i in unique]
        created.entries += made
        entries: list[SeriesEntry | None] = [None] * len(keys)
        for index, entry in zip(unique, made, strict=True):
            entries[index] = entry
        for index, found in enumerate(earlier):
            if found is not None:
                entries[index] = found if isinstance(found, tuple) else entries[found]
        return entries  # type: ignore[return-value]

    def _entries(
        self, names: list[str], labels: list[Labels], families: list[Family], contexts: list[Family | None]
    ) -> tuple[list[SeriesEntry], Columns]:
        """Entries for new series with these final labels: relabeled, each with a new ref; and
        the columns of what the samples take from them."""
        metrics = names
        if self.relabel.steps:
            views = [
                relabel_series(name, found, self.relabel) for name, found in zip(names, labels, strict=True)
            ]
            metrics = [view[0] if view else "" for view in views]
            labels = [view[1] if view else () for view in views]
        refs = list(islice(self.refs, len(names)))
        entries = list(zip(names, families, contexts, metrics, labels, refs, strict=True))
        return entries, (metrics, labels, families, refs)
