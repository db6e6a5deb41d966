"""What a target's new series become: the series cache's entries.

A series the cache did not know gets, once: its final labels (the target's merged in by
``labels.finisher``, in bulk per label-set shape for plain lines), ``metric_relabel_configs``
(``labels.relabel_series``), the check of its names (``metric_name_validation_scheme``), and a
``SeriesRef``: a new one from the scrape stage's allocator, or that of the series the target
already has with the same final name and labels (two spellings of one label set, or series
that metric relabeling makes one), so that a ref is one series as a sink and a TSDB see it.
Entries are plain tuples made by ``zip``: a cold chunk makes hundreds at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import Any, Final

from ..labels import LabelFinisher, relabel_repeated, relabel_series
from ..model import Family, Labels, SeriesRef
from ..names import is_legacy
from ..parse import KNOWN_CONTEXT, KNOWN_FAMILY, Families, NewSeries, PlainTexts
from ..parse.metadata import MIN_RUN_BYTES
from ..relabel import RelabelRules
from .labelsets import Interned, ShapePlan, final_labels, shape_plans

SeriesEntry = tuple[str, Family, Family | None, str, Labels, SeriesRef]
"""What one series text of a target stands for: ``parse.KnownSeries`` first (the metric name as
exposed, the family, the metadata block it was read under), then the final metric name (after
metric relabeling; ``""`` when the rules drop the series), the final labels and the series'
ref."""

SERIES_AT: Final = 5
_FAMILY = itemgetter(KNOWN_FAMILY)
_METRIC, _LABELS, _SERIES = itemgetter(3), itemgetter(4), itemgetter(SERIES_AT)
_AT = attrgetter("at")

Identity = tuple[str, Labels]
"""A series as a sink and a TSDB see it: its final metric name and labels."""

Columns = tuple[Iterable[str], Iterable[Labels], Iterable[Family], Iterable[SeriesRef]]
"""What each sample takes from its series' entry (metric, labels, family, ref), as columns."""


def columns(entries: list[SeriesEntry]) -> Columns:
    """The columns of ``entries``."""
    return map(_METRIC, entries), map(_LABELS, entries), map(_FAMILY, entries), map(_SERIES, entries)


def refs_of(entries: Iterable[SeriesEntry]) -> Iterator[SeriesRef]:
    return map(_SERIES, entries)


def identity(entry: SeriesEntry) -> Identity:
    return entry[3], entry[4]


def kind(entry: SeriesEntry) -> tuple[str, Labels, Family]:
    """A series' identity and its family: what a sink makes of it."""
    return entry[3], entry[4], entry[KNOWN_FAMILY]


class Refused(Exception):
    """A new series Prometheus's scrape loop refuses once relabeled (a name the validation
    scheme refuses, a label name still repeated): the scrape fails at its line, which counts as
    scraped. ``at`` is its index among the series being made."""

    def __init__(self, reason: str, at: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


class Created:
    """The entries a parse made (once per series), with their series texts, and the refs it
    gave by final name and labels (the cache takes them if the parse succeeds)."""

    __slots__ = ("entries", "identities", "keys", "shared")

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.entries: list[SeriesEntry] = []
        self.identities: dict[int, SeriesRef] = {}
        """The refs of the identities this parse indexed, by hash (see ``EntryMaker._refs``)."""
        self.shared: set[SeriesRef] = set()
        """Refs this parse gave to an entry that is not the first with them."""


VALUES_PER_SERIES: Final = 4
MIN_VALUES: Final = 1024
"""A table of interned values (families, names and label pairs) is let go past
``VALUES_PER_SERIES`` times the series it serves plus ``MIN_VALUES``: those of gone series
(or help texts that keep changing) pile up."""

RUN_BYTES_PER_SERIES: Final = 128
"""What the remembered runs of comment lines of a families table (``parse.Families``) may hold
past ``parse.metadata.MIN_RUN_BYTES``, per series it serves: a node_exporter's 218 runs take
about 63 B per series of one target alone, and a fleet's targets share theirs."""


def bound_families(families: Families, series: int) -> None:
    """Bound a families table that serves ``series`` cached series: emptied past its bound, and
    its remembered runs bounded by their size (``Families.bound``)."""
    if len(families) > VALUES_PER_SERIES * series + MIN_VALUES:
        families.clear()
    families.bound(RUN_BYTES_PER_SERIES * series + MIN_RUN_BYTES)


class CommonValues:
    """What the series caches of one scrape stage share (``scraper.Scraper``): the families
    their parses intern, with what runs of comment lines read to (``parse.Families``), and the
    metric names and label pairs of their series (``Interned``). A fleet's targets mostly expose
    the same families, help texts, names and pairs, which are then held once (about 110 B a
    series of node_exporter's otherwise: docs/scaling.md, "What a cached series holds"), and
    the same comment lines, which are then read once."""

    __slots__ = ("families", "texts", "values")

    def __init__(self) -> None:
        self.families = Families()
        self.values = Interned()
        self.texts: dict[str, PlainTexts] = {}
        """What the parses read of the plain series texts, by dialect (``parse.PlainTexts``):
        emptied after each cycle, like ``Interned.label_sets``."""

    def bound(self, series: int) -> None:
        """Empty a table past its bound for ``series`` cached series. Once the families are, each
        target's next scrape makes its entries again (its families are new objects), under the
        same refs."""
        bound_families(self.families, series)
        if len(self.values) > VALUES_PER_SERIES * series + MIN_VALUES:
            self.values.clear()
        self.values.forget_sets()  # what a cold cycle shares: no memory held between cycles
        self.texts.clear()


class EntryMaker:
    """Makes the entries of one target's new series."""

    def __init__(
        self,
        finish: LabelFinisher,
        relabel: RelabelRules,
        refs: Iterator[SeriesRef],
        legacy_names: bool = False,
        interned: Interned | None = None,
    ) -> None:
        self.finish = finish
        self.relabel = relabel
        self.refs = refs
        self.legacy_names = legacy_names
        """``metric_name_validation_scheme: legacy``: names outside the legacy character set fail
        the scrape (under ``utf8`` any name the parser read is valid)."""
        self.identities: dict[int, SeriesRef] | None = None
        """The ref of each final name and labels the target's series cache holds, by the hash of
        ``(name, labels)``: built from the cache's entries (``index``) when a parse first meets
        a new series, dropped when the parse ends, so that a warm cache holds no index between
        scrapes (an unchanged target never builds it)."""
        self.index: Callable[[], dict[int, SeriesRef]] = dict
        """Builds ``identities`` from the cache's entries."""
        self.lookup: Callable[[], dict[SeriesRef, tuple[str, Labels, Family]]] = dict
        """The identity and family of each ref the cache holds (made on demand: only when a hash
        repeats)."""
        self.interned = Interned() if interned is None else interned
        """The names and label pairs of the target's series: the scrape stage's (``CommonValues``),
        or the cache's own, which it bounds."""

    def known(self) -> dict[int, SeriesRef]:
        """``identities``, built now if this parse has not yet."""
        if self.identities is None:
            self.identities = self.index()
        return self.identities

    def plain_labels(self, new: NewSeries, plans: dict[str, ShapePlan]) -> list[Labels]:
        """The final labels of plain new series, in bulk: one plan per label-set shape (made
        when a shape is first met, kept in ``plans``: ``labelsets``)."""
        shapes = new.shapes
        infos: list[Any] = list(map(plans.get, shapes))
        if None in infos:  # each shape not met before, once (a cold chunk's are hundreds of lines)
            missing = [shape for shape in dict.fromkeys(shapes) if shape not in plans]
            plans.update(shape_plans(missing, self.finish, self.interned))
            infos = list(map(plans.__getitem__, shapes))
        return final_labels(new.labels, infos, self.interned)  # type: ignore[arg-type]

    def parsed_labels(self, new: NewSeries) -> list[Labels]:
        """The final labels of the other new series (their label pairs finished one by one)."""
        finished = map(self.finish, new.labels)  # type: ignore[arg-type]
        return list(map(tuple, map(map, repeat(self.interned.__getitem__), finished)))

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
            made, made_columns = self._entries(
                new.names, labels, new.families, new.contexts, created, repeated=new.repeated
            )
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
        repeated = set(new.repeated)
        try:
            made, _ = self._entries(
                [new.names[i] for i in unique],
                [labels[i] for i in unique],
                [new.families[i] for i in unique],
                [new.contexts[i] for i in unique],
                created,
                repeated=[at for at, index in enumerate(unique) if index in repeated] if repeated else (),
            )
        except Refused as exc:
            exc.at = unique[exc.at]
            raise
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
        self,
        names: list[str],
        labels: list[Labels],
        families: list[Family],
        contexts: list[Family | None],
        created: Created,
        *,
        repeated: Sequence[int] = (),
    ) -> tuple[list[SeriesEntry], Columns]:
        """Entries for new series with these final labels (those at ``repeated`` may repeat a
        label name): relabeled, names checked, each with its series' ref; and the columns of
        what the samples take from them. Raises ``Refused`` for the first series Prometheus
        refuses."""
        names = metrics = list(map(self.interned.__getitem__, names))
        if self.relabel.steps:
            views = [
                relabel_series(name, found, self.relabel) for name, found in zip(names, labels, strict=True)
            ]
            for index in repeated:
                views[index] = relabel_repeated(names[index], labels[index], self.relabel)
            metrics = [view[0] if view else "" for view in views]
            labels = [view[1] if view else () for view in views]
        refused = [_still_repeated(metrics, labels, repeated)] if repeated else []
        if self.legacy_names:
            refused.append(_not_legacy(metrics, labels))
        first = min((found for found in refused if found is not None), key=_AT, default=None)
        if first is not None:
            raise first
        refs = self._refs(metrics, labels, families, created)
        entries = list(zip(names, families, contexts, metrics, labels, refs, strict=True))
        return entries, (metrics, labels, families, refs)

    def _refs(
        self, metrics: list[str], labels: list[Labels], families: list[Family], created: Created
    ) -> list[SeriesRef]:
        """A ref per new series: the one its final name and labels already have in this target
        (an entry of the cache, or one made before in this parse) under the same family, else a
        new one (a series whose ``# TYPE`` changed is a new one to a sink). Identities
        are indexed by hash, so that the common case is one pass of tuple hashes and a few
        passes over ints; a hash met twice is checked against the identity it stands for."""
        refs = list(islice(self.refs, len(metrics)))
        if self.relabel.steps and "" in metrics:  # what relabeling drops is no series: no index
            kept = [index for index, metric in enumerate(metrics) if metric]
            kept_refs = self._indexed(
                ([metrics[i] for i in kept], [labels[i] for i in kept], [families[i] for i in kept]),
                [refs[i] for i in kept],
                created,
            )
            for index, ref in zip(kept, kept_refs, strict=True):
                refs[index] = ref
            return refs
        return self._indexed((metrics, labels, families), refs, created)

    def _indexed(
        self,
        new_series: tuple[list[str], list[Labels], list[Family]],
        refs: list[SeriesRef],
        created: Created,
    ) -> list[SeriesRef]:
        """``refs`` for new series, each replaced by the ref its series already has."""
        metrics, labels, _ = new_series
        hashes = list(map(hash, zip(metrics, labels, strict=True)))
        new, known = created.identities, self.known()
        if (
            len(set(hashes)) == len(hashes)
            and new.keys().isdisjoint(hashes)
            and (not known or known.keys().isdisjoint(hashes))
        ):
            new.update(zip(hashes, refs, strict=True))
            return refs
        return self._shared_refs(new_series, refs, hashes, created)

    def _shared_refs(
        self,
        new_series: tuple[list[str], list[Labels], list[Family]],
        refs: list[SeriesRef],
        hashes: list[int],
        created: Created,
    ) -> list[SeriesRef]:
        """``_refs`` when a hash repeats: each series takes the ref of the first series with its
        final name and labels."""
        metrics, labels, families = new_series
        by_ref = self.lookup()
        by_ref.update((entry[SERIES_AT], kind(entry)) for entry in created.entries)
        new, known = created.identities, self.known()
        for index, key in enumerate(hashes):
            found = new.get(key)
            if found is None:
                found = known.get(key)
            series = metrics[index], labels[index], families[index]
            other = by_ref.get(found) if found is not None else None
            if found is not None and other == series:
                refs[index] = found
                created.shared.add(found)
                continue
            if found is not None and other is not None and other[:2] == series[:2]:  # another family
                created.shared.update((found, refs[index]))
            new[key] = refs[index]  # the latest under a family, or another identity's hash
            by_ref[refs[index]] = series
        return refs


def _still_repeated(metrics: list[str], labels: list[Labels], repeated: Sequence[int]) -> Refused | None:
    """The first series of ``repeated`` whose final labels still repeat a name (what metric
    relabeling dropped is no series), as Prometheus's TSDB refuses it."""
    for index in repeated:
        names = ["__name__", *(name for name, _ in labels[index])]  # the metric name is one
        if metrics[index] and len(set(names)) < len(names):
            twice = next(name for at, name in enumerate(names) if name in names[:at])
            return Refused(f'label name "{twice}" is not unique', index)
    return None


def _not_legacy(metrics: list[str], labels: list[Labels]) -> Refused | None:
    """The first series with a metric or label name outside Prometheus's legacy character set,
    as its scrape loop refuses it after relabeling under ``metric_name_validation_scheme:
    legacy``."""
    names = {name for pairs in labels for name, _ in pairs}
    bad = {name for name in names if not is_legacy(name, label=True)}
    bad_metrics = {metric for metric in set(metrics) if metric and not is_legacy(metric)}
    if not bad and not bad_metrics:
        return None
    for index, (metric, pairs) in enumerate(zip(metrics, labels, strict=True)):
        found = [metric] if metric in bad_metrics else []
        found += [label for label, _ in pairs if label in bad]
        if found:
            reason = "invalid metric name or label names under metric_name_validation_scheme legacy"
            return Refused(f"{reason}: {found[0][:80]!r}", index)
    return None
