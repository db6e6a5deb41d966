"""The series cache: the idea behind Prometheus's scrape cache, for a warm Lambda.

Per target, remember each series' exposition text (everything before the value, e.g.
``http_requests_total{code="200",method="get"}``) with what the series became: its final name
and labels (the target's labels and ``honor_labels`` applied, then ``metric_relabel_configs``,
or dropped by them), its family and its ``SeriesRef``. The format's parser looks every line's
text up in these entries; a warm scrape of an unchanged series is then a dict lookup and one
``float()``, and yields a sample with the same ``SeriesRef`` as the scrape before.

``read`` turns a body into samples chunk by chunk, in Prometheus's order: parse, target labels
and ``honor_labels``, metric relabeling (for new series: ``entries.py``), then the memory budget
per chunk (the caller ``admit``s each chunk against the sample and label limits). The cache
changes only when a body parsed to its end: a failed parse, or one its caller stopped, leaves
it as it was. Bounded: at most ``max_series`` entries; a series not seen in a scrape is dropped
at the end of that scrape, and its ref is ``retired`` (the sinks are told to forget it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count, islice, repeat
from operator import itemgetter
from typing import Any, Final, cast

from ..labels import SYNTHETIC, LabelFinisher, Plan, sorted_labels
from ..limits import ScrapeBudget
from ..model import Family, Sample, SeriesRef
from ..parse import Chunk, Format, Histograms, format_for
from ..relabel import NO_RULES, RelabelRules
from .entries import SERIES_AT, Columns, Created, EntryMaker, SeriesEntry, columns, refs_of

MAX_SERIES: Final = 200_000
"""Default bound on the series remembered per target (a few hundred bytes each, plus what
sinks keep per series), sized for the largest single targets (kube-state-metrics on big
clusters)."""

NO_NATIVE: Final = Histograms()
"""Native histograms read as their classic part (Prometheus 3.x's default)."""

_ROW_METRIC = itemgetter(0)
_NEW = tuple.__new__


class SeriesCache:
    """One target's series, keyed by series text; survives warm invocations.

    >>> cache = SeriesCache()
    >>> first = cache.samples(b'up{a="1"} 1\\n', None, 1000)
    >>> second = cache.samples(b'up{a="1"} 0\\n', None, 2000)
    >>> first[0].series == second[0].series and first[0].labels is second[0].labels
    True
    """

    def __init__(
        self,
        finish: LabelFinisher | None = None,
        relabel: RelabelRules = NO_RULES,
        refs: Iterator[SeriesRef] | None = None,
        max_series: int = MAX_SERIES,
    ) -> None:
        refs = count() if refs is None else refs
        self.maker = EntryMaker(finish or sorted_labels, relabel, refs)
        """What new series become: their final labels, ``metric_relabel_configs`` applied once
        per series, a ``SeriesRef`` from ``refs`` (the scrape stage's allocator, shared by
        every target so that refs never collide)."""
        self.max_series = max_series
        self.format: Format | None = None
        """The format of the last body parsed: a switch to another starts afresh."""
        self.entries: dict[str, SeriesEntry] = {}
        self.families: dict[Family, Family] = {}
        """Interned families, so that an unchanged ``# HELP``/``# TYPE`` block yields the very
        same object scrape after scrape and entries can be checked with ``is``."""
        self.plans: dict[str, Plan] = {}
        """Per label-set shape, how to build final labels (``labels.shape_plan``)."""
        self.synthetic: tuple[SeriesRef, ...] = tuple(islice(refs, len(SYNTHETIC)))
        """The refs of the target's ``up`` and ``scrape_*`` series."""
        self.added = 0
        """Series the last successful scrape had that the one before did not
        (``scrape_series_added``)."""
        self.retired: list[SeriesRef] = []
        """Refs of series the cache dropped since the owner last took them (``take_retired``)."""

    def __len__(self) -> int:
        return len(self.entries)

    def refs_held(self) -> list[SeriesRef]:
        """Every ref of this cache the sinks may remember: its series', its ``up`` and
        ``scrape_*`` series', and those retired but not taken yet (all go with the cache)."""
        return [*refs_of(self.entries.values()), *self.synthetic, *self.retired]

    def take_retired(self) -> list[SeriesRef]:
        retired, self.retired = self.retired, []
        return retired

    def samples(self, data: bytes, content_type: str | None, scrape_ms: int) -> list[Sample]:
        """The whole body's samples at once (see ``read``), exposed timestamps honoured."""
        return [sample for chunk in self.read(data, content_type, scrape_ms) for sample in chunk]

    def read(
        self,
        data: bytes,
        content_type: str | None,
        scrape_ms: int,
        *,
        honor_timestamps: bool = True,
        budget: ScrapeBudget | None = None,
        histograms: Histograms = NO_NATIVE,
    ) -> Iterator[list[Sample]]:
        """The body's samples, one list per chunk, stamped with ``scrape_ms`` (or with their
        own timestamp when ``honor_timestamps``), metric relabeling applied, native histograms
        read as ``histograms`` asks and fitted to the budget's limits. ``budget`` is charged
        what each chunk keeps (``MemoryBudgetExceeded`` stops the parse). Raises
        ``ParseError``, possibly after chunks were yielded; the cache is updated once the
        iterator is exhausted."""
        fmt = format_for(content_type).configured(histograms)
        same = fmt == self.format  # another format, or the same with other options: afresh
        known = self.entries if same else {}
        families = dict(self.families) if same else {}
        plans = dict(self.plans) if same else {}
        budget = budget or ScrapeBudget()
        seen: dict[str, SeriesEntry] = {}
        created = Created()
        for chunk in fmt.chunks(data, known, families):
            if chunk.histograms is not None:
                chunk.histograms = budget.fit(chunk.histograms)
            entries, labels, made = self._entries(chunk, plans, seen, created)
            samples = self._samples(chunk, made or columns(entries), scrape_ms, honor_timestamps)
            budget.charge(len(entries), chunk.label_sets, chunk.labels + labels, chunk.text_bytes)
            self._remember(seen, chunk, entries)
            yield samples
        self._commit(fmt, seen, created, families, plans)

    def _entries(
        self,
        chunk: Chunk[SeriesEntry],
        plans: dict[str, Plan],
        seen: dict[str, SeriesEntry],
        created: Created,
    ) -> tuple[list[SeriesEntry], int, Columns | None]:
        """Every line's entry, the new series' made now; how many labels those have; and, when
        every line is a new series (a cold chunk), the columns they were made of."""
        entries = chunk.known
        labels = 0
        made_columns: Columns | None = None
        maker = self.maker
        for new in (chunk.plain, chunk.parsed):
            if not new.at:
                continue
            final = maker.plain_labels(new, plans) if new is chunk.plain else maker.parsed_labels(new)
            labels += sum(map(len, final))
            keys = chunk.keys if len(new.at) == len(entries) else list(map(chunk.keys.__getitem__, new.at))
            made, made_columns = maker.make(new, final, keys, seen, created)
            if len(made) == len(entries):
                entries = made  # type: ignore[assignment]
            else:
                made_columns = None
                for at, entry in zip(new.at, made, strict=True):
                    entries[at] = entry
        return entries, labels, made_columns  # type: ignore[return-value]

    def _samples(
        self, chunk: Chunk[SeriesEntry], taken: Columns, scrape_ms: int, honor_timestamps: bool
    ) -> list[Sample]:
        """The chunk's samples, built in C-level passes over the columns of its entries
        (``taken``) and its own; what metric relabeling dropped is left out."""
        exposed = chunk.timestamps
        stamps: Iterable[int] = (
            repeat(scrape_ms)
            if exposed is None or not honor_timestamps
            else [scrape_ms if stamp is None else stamp for stamp in exposed]
        )
        exemplars = repeat(None) if chunk.exemplars is None else chunk.exemplars
        histograms = repeat(None) if chunk.histograms is None else chunk.histograms
        metrics, labels, families, refs = taken
        rows: Iterable[tuple[Any, ...]] = zip(
            metrics,
            labels,
            chunk.values,
            stamps,
            families,
            refs,
            exemplars,
            histograms,
            strict=False,  # the stamps, exemplars and histograms may repeat without end
        )
        if self.maker.relabel.steps:
            rows = filter(_ROW_METRIC, rows)  # "" when dropped
        return cast(list[Sample], list(map(_NEW, repeat(Sample), rows)))

    def _remember(
        self, seen: dict[str, SeriesEntry], chunk: Chunk[SeriesEntry], entries: list[SeriesEntry]
    ) -> None:
        """Note the chunk's series in ``seen``, the first ``max_series`` distinct ones (a line
        whose text is not cut at a space has no key and is never remembered)."""
        keys = chunk.keys
        pairs: Iterable[tuple[str | None, SeriesEntry]] = zip(keys, entries, strict=True)
        if chunk.unkeyed:
            pairs = [pair for pair in pairs if pair[0] is not None]
        if len(seen) + len(keys) <= self.max_series:
            seen.update(pairs)  # type: ignore[arg-type]
            return
        for key, entry in pairs:
            if len(seen) < self.max_series or key in seen:
                seen[key] = entry  # type: ignore[index]

    def _commit(
        self,
        fmt: Format,
        seen: dict[str, SeriesEntry],
        created: Created,
        families: dict[Family, Family],
        plans: dict[str, Plan],
    ) -> None:
        """Keep the series seen by the scrape that just succeeded, and retire the refs of those
        it no longer has (gone, replaced, or never kept: over the bound)."""
        previous = self.entries
        if fmt != self.format:
            self.retired += refs_of(previous.values())
            self.format, previous = fmt, {}
        if not created.keys:  # every line was a series known before: nothing added or replaced
            self.added = 0
            if len(seen) < len(previous):
                self.retired += [previous[key][SERIES_AT] for key in previous.keys() - seen.keys()]
        else:
            self.added = len(seen.keys() - previous.keys()) if previous else len(seen)
            if previous or len(created.keys) != len(seen):  # else each new series was kept
                self.retired += _retired(previous, seen, created)
        self.entries = seen
        self.families = families if len(families) <= 4 * len(seen) + 1024 else {}
        self.plans = plans if len(plans) <= 4 * len(seen) + 1024 else {}


def _retired(
    previous: dict[str, SeriesEntry], seen: dict[str, SeriesEntry], created: Created
) -> set[SeriesRef]:
    """The refs a parse that made ``created`` leaves without a series: those of the series gone
    since ``previous``, of the entries it replaced, and of the new ones it did not keep."""
    retired = {previous[key][SERIES_AT] for key in previous.keys() - seen.keys()}
    for key, entry in zip(created.keys, created.entries, strict=True):
        kept = seen.get(key) if key is not None else None
        if kept is not entry:
            retired.add(entry[SERIES_AT])
        old = previous.get(key) if key is not None else None
        if old is not None and kept is not None and kept is not old:
            retired.add(old[SERIES_AT])
    return retired
