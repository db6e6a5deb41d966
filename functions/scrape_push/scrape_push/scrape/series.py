"""The series cache: the idea behind Prometheus's scrape cache, for a warm Lambda.

Per target, remember each series' exposition text (everything before the value, e.g.
``http_requests_total{code="200",method="get"}``) with what the series became: its final name
and labels (the target's labels and ``honor_labels`` applied, then ``metric_relabel_configs``,
or dropped by them), its family and its ``SeriesRef``. The format's parser looks every line's
text up in these entries; a warm scrape of an unchanged series is then a dict lookup and one
``float()``, and yields a sample with the same ``SeriesRef`` as the scrape before.

``read`` turns a body into samples chunk by chunk, in Prometheus's order: parse, target labels
and ``honor_labels``, metric relabeling (for new series: ``entries.py``), then the memory budget
per chunk (the caller ``admit``s each chunk against the sample and label limits). Of several
samples of one series at one time in a body, the first is kept and the others are dropped and
counted (``ScrapeBudget.duplicates``): a series is its final name and labels, so two spellings
of one label set, or series that metric relabeling makes one, are one series, as in
Prometheus's TSDB. The cache changes only when a body parsed to its end: a failed parse, or one
its caller stopped, leaves it as it was. Bounded: at most ``max_series`` entries; a series not
seen in a scrape is dropped at the end of that scrape, and its ref is ``retired`` (the sinks are
told to forget it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from functools import partial
from itertools import count, islice, repeat
from operator import is_not, itemgetter
from typing import Any, Final, cast

from .. import native
from ..labels import SYNTHETIC, LabelFinisher
from ..limits import ScrapeBudget
from ..model import Family, Labels, NativeHistogram, Sample, SeriesRef
from ..parse import Chunk, Families, Format, Histograms, ParseError, format_for, sample_line
from ..relabel import NO_RULES, RelabelRules
from .entries import (
    MIN_VALUES,
    SERIES_AT,
    VALUES_PER_SERIES,
    Columns,
    CommonValues,
    Created,
    EntryMaker,
    Refused,
    SeriesEntry,
    bound_families,
    columns,
    identity,
    kind,
    refs_of,
)
from .labelsets import Interned, ShapePlan
from .stale import Tracker, Tracking, histogram_markers

NO_NATIVE: Final = Histograms()
"""Native histograms read as their classic part (Prometheus 3.x's default)."""

MAX_AHEAD_MS: Final = 10 * 60 * 1000
"""How far past the scrape's time an exposed timestamp may be: Prometheus's scrape loop refuses
a later sample as out of bounds (``maxAheadTime`` of its ``timeLimitAppender``, scrape/scrape.go
in 2.42; observed: a sample 3 minutes ahead is stored, one in 2100 is not)."""

MAX_BEHIND_MS: Final = 60 * 60 * 1000
"""How long before the scrape's time an exposed timestamp may be: Prometheus's TSDB refuses an
older sample as out of bounds once its head holds the scrape's time (half its 2-hour block
range, ``appendableMinValidTime`` in tsdb/head.go; observed on 2.42: a sample two hours old is
neither stored nor added). A Remote Write receiver of that kind refuses the whole request that
holds one, so such a sample is not sent."""

MAX_SERIES: Final = 200_000
"""Default bound on the series remembered per target (a few hundred bytes each, plus what
sinks keep per series), sized for the largest single targets (kube-state-metrics on big
clusters)."""

_ROW_METRIC = itemgetter(0)
_KERNEL: Final = native.load("labels", 1)
"""``samples``: a chunk's samples in one C pass (``native/labels.c``, docs/native.md), or ``None``."""
_NOT_NONE = partial(is_not, None)
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
        legacy_names: bool = False,
        *,
        common: CommonValues | None = None,
    ) -> None:
        refs = count() if refs is None else refs
        interned = None if common is None else common.values
        self.maker = EntryMaker(finish or LabelFinisher(), relabel, refs, legacy_names, interned)
        """What new series become: their final labels, ``metric_relabel_configs`` applied once
        per series, their names checked (``legacy_names``), a ``SeriesRef`` from ``refs`` (the
        scrape stage's allocator, shared by every target so that refs never collide) or the
        one the series has under another spelling."""
        self.maker.lookup = self._identities
        self.maker.index = self._index
        self.max_series = max_series
        self.format: Format | None = None
        """The format of the last body parsed: a switch to another starts afresh."""
        self.entries: dict[str, SeriesEntry] = {}
        self.families = Families() if common is None else common.families
        """Interned families, so that an unchanged ``# HELP``/``# TYPE`` block yields the very
        same object scrape after scrape and entries can be checked with ``is``: the table the
        scrape stage shares among its targets (``entries.CommonValues``, which its owner
        bounds), else this cache's own, which it copies for each parse (a failed one leaves it
        as it was)."""
        self.own_values = common is None
        self.texts = None if common is None else common.texts
        """What the parses of the scrape stage's targets read of their series texts (shared)."""
        """The families, names and label pairs are this cache's own: it bounds them."""
        self.plans: dict[str, ShapePlan] = {}
        """Per label-set shape, how to build final labels (``entries.ShapePlan``); they hold
        pairs of the interned values at generation ``plans_of``."""
        self.plans_of = 0
        self.synthetic: tuple[SeriesRef, ...] = tuple(islice(refs, len(SYNTHETIC)))
        """The refs of the target's ``up`` and ``scrape_*`` series."""
        self.added = 0
        """Series the last successful scrape had that the one before did not
        (``scrape_series_added``)."""
        self.retired: list[SeriesRef] = []
        """Refs of series the cache dropped since the owner last took them (``take_retired``)."""
        self.tried: set[str] = set()
        """Series texts that failed scrapes read since the last successful one (at most
        ``max_series``): Prometheus's scrape cache learns them, so they are not
        ``scrape_series_added`` again. Only their texts are kept; the entries are not."""
        self.unlearnt: set[str] = set()
        """Series texts the cache holds that Prometheus's scrape cache does not: those a scrape
        over ``sample_limit`` read past the limit and did not know (its appender refused them, so
        the cache never learnt them): a later scrape counts them in ``scrape_series_added``."""
        self.within: set[str] | None = None
        """During a scrape over ``sample_limit``: the series texts read within the limit (after
        an empty body: none), and that Prometheus's scrape cache keeps what it knew."""
        self.window: tuple[int, int] | None = None
        """During a scrape that honours exposed timestamps: the earliest and latest times a
        sample may have (``MAX_BEHIND_MS`` before the scrape's, ``MAX_AHEAD_MS`` past it)."""
        self.unstored: set[str] = set()
        """During a scrape: the series texts whose every sample so far has its own time outside
        ``window`` (or beyond int64 milliseconds: ``parse.OUT_OF_RANGE``), which Prometheus's
        scrape loop and TSDB refuse, so that its scrape cache does not learn them either."""
        self.shared: set[SeriesRef] = set()
        """Refs that more than one entry holds (one series under several series texts), or whose
        series another ref holds under another family: a body that has them may repeat a series
        whatever its texts."""
        self.tracker = Tracker(self.maker.refs, self.synthetic)
        """What the last scrape tracked for staleness, and its markers (``stale.Tracker``)."""
        self._reading = _Reading()
        """The series the parse under way read so far (``reading``)."""
        self.yielded: tuple[list[str | None], list[SeriesEntry], list[float], int] | None = None
        """While a parse is under way: the lines of the chunk it last yielded (their series
        texts, entries and values) and how many series it had read before that chunk, so that
        a limit that stops it at one of its samples is counted at that line (``count_read``)."""

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def reading(self) -> dict[str, SeriesEntry]:
        """The series the parse under way read so far (those a limit error keeps tracked)."""
        return self._reading.materialized()

    def refs_held(self) -> list[SeriesRef]:
        """Every ref of this cache the sinks may remember: its series', its ``up`` and
        ``scrape_*`` series', and those retired but not taken yet (all go with the cache)."""
        return [*refs_of(self.entries.values()), *self.synthetic, *self.retired, *self.tracker.take_retired()]

    def _identities(self) -> dict[SeriesRef, tuple[str, Labels, Family]]:
        return {entry[SERIES_AT]: kind(entry) for entry in self.entries.values() if entry[3]}

    def _index(self) -> dict[int, SeriesRef]:
        return {hash(identity(entry)): entry[SERIES_AT] for entry in self.entries.values() if entry[3]}

    def take_retired(self) -> list[SeriesRef]:
        retired, self.retired = self.retired, []
        return retired + self.tracker.take_retired()

    def evict(self) -> list[SeriesRef]:
        """Let the series go, to bound a warm process's memory (``scraper.Scraper``): the next
        scrape starts cold. What the last scrape tracked for staleness stays, compactly, as a
        persisted record would seed it (final name and labels, and which were native histograms:
        ``stale.Tracker.seed``), so
        that the next scrape, a failed one or the target's leaving still marks what went. The
        ``up``/``scrape_*`` refs stay too. Returns the refs the sinks may forget."""
        refs = [*refs_of(self.entries.values()), *self.take_retired()]
        tracker = self.tracker
        tracked = tracker.series()
        if tracked:
            tracker.seed = dict(tracked)
        tracker.tracked, tracker.stamps = {}, {}
        self.format = None
        self.entries, self.plans, self._reading = {}, {}, _Reading()
        if self.own_values:
            self.families, self.maker.interned = Families(), Interned()
        self.tried, self.shared, self.unlearnt = set(), set(), set()
        self.maker.identities = None
        return refs

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
        track_timestamped: bool = False,
        budget: ScrapeBudget | None = None,
        strict: bool = False,
        histograms: Histograms = NO_NATIVE,
    ) -> Iterator[list[Sample]]:
        """The body's samples, one list per chunk, stamped with ``scrape_ms`` (or with their
        own timestamp when ``honor_timestamps``), metric relabeling applied, native histograms
        read as ``histograms`` asks and fitted to the budget's limits; ``strict`` parses as the
        format's spec, not as Prometheus 2.42 (``parse.Format.chunks``). ``budget`` is
        charged what each chunk keeps (``MemoryBudgetExceeded`` stops the parse). Raises
        ``ParseError``, possibly after chunks were yielded; the cache is updated once the
        iterator is exhausted, and ``tracker`` holds the scrape's markers (series exposed with
        their own timestamp are tracked only if ``track_timestamped``). ``reading`` holds the
        series read so far from the call on."""
        self._reading, self.within, self.unstored = _Reading(), None, set()
        self.window = (scrape_ms - MAX_BEHIND_MS, scrape_ms + MAX_AHEAD_MS) if honor_timestamps else None
        fmt = format_for(content_type).configured(histograms)
        return self._read(fmt, data, scrape_ms, honor_timestamps, track_timestamped, budget, strict)

    def _read(  # noqa: PLR0917 (read's arguments, passed on)
        self,
        fmt: Format,
        data: bytes,
        scrape_ms: int,
        honor_timestamps: bool,
        track_timestamped: bool,
        budget: ScrapeBudget | None,
        strict: bool,
    ) -> Iterator[list[Sample]]:
        same = fmt == self.format  # another format, or the same with other options: afresh
        known = self.entries if same else {}
        families = self.families
        if self.own_values:
            families = families.copy() if same else Families()
        plans = self._plans(same)
        budget = budget or ScrapeBudget()
        reading = self._reading
        reading.follow(known, self.max_series)
        stamped: dict[str, int] = {}
        natives: dict[str, NativeHistogram] = {}
        created = Created()
        firsts = _Firsts()
        try:
            for parsed in _then_failing(fmt.chunks(data, known, families, strict, texts=self.texts)):
                chunk = parsed
                if chunk.histograms is not None:
                    chunk.histograms = budget.fit(chunk.histograms)
                    natives.update(histogram_markers(chunk.keys, chunk.histograms))
                refusal = None
                followed = _follows(reading, chunk, budget)
                try:
                    entries, (fresh, labels), made = self._entries(chunk, plans, reading.seen, created)
                except Refused as refused:  # the lines before it go on as a chunk (limits apply)
                    refusal = _refusal(refused, data, chunk)
                    chunk, refusal.partial = refusal.partial, None
                    entries, (fresh, labels), made = self._entries(chunk, plans, reading.seen, created)
                samples = self._samples(
                    chunk, entries, made, scrape_ms, honor_timestamps=honor_timestamps, budget=budget
                )
                budget.charge(  # a followed chunk keeps no text: its series texts are the last scrape's
                    len(entries),
                    chunk.label_sets,
                    chunk.labels + fresh,
                    0 if followed else chunk.text_bytes,
                    labels,
                    followed=followed,
                )
                self.yielded = chunk.keys, entries, chunk.values, reading.size()
                self._note(reading, chunk, entries, created, firsts)
                samples = firsts.kept(samples, budget)
                if chunk.timestamps is not None and honor_timestamps:
                    stamped.update(_stamped(chunk, chunk.timestamps))  # type: ignore[arg-type]
                yield samples
                if refusal is not None:
                    raise refusal
        except ParseError as exc:
            budget.parsed += exc.appended
            self._learn(reading.materialized(), budget)
            raise
        finally:  # however the parse ends (an error, a limit, its reader stopping)
            self.maker.identities = None
            self.yielded = None
        before = self.entries
        if not data:  # Prometheus's cache keeps what it knew after an empty body (no flush)
            self.within = set()
        seen = reading.finished()
        self._commit(fmt, seen, created, families, plans)
        self.tracker.scraped(seen, created, Tracking(stamped, track_timestamped, scrape_ms, before, natives))

    def _note(
        self,
        reading: _Reading,
        chunk: Chunk[SeriesEntry],
        entries: list[SeriesEntry],
        created: Created,
        firsts: _Firsts,
    ) -> None:
        """Note the chunk's series as read (and those whose every sample so far has a time
        Prometheus refuses); ``firsts`` starts keeping the first sample of each series once
        one may come twice."""
        if self.unstored or self._refuses_times(chunk):
            self._track_unstored(chunk, reading.materialized())
        if reading.following:
            reading.followed += len(chunk.keys)  # no series twice: the last scrape's, in turn
        elif self._remember(reading.seen, chunk, entries):
            firsts.start()
        if self.shared or created.shared:
            firsts.start()

    def _plans(self, same: bool) -> dict[str, ShapePlan]:
        """The plans this parse starts from (a copy: a failed parse leaves them as they were):
        none for another format, or once the interned values they hold pairs of were let go."""
        generation = self.maker.interned.generation
        if self.plans_of != generation:
            self.plans, self.plans_of = {}, generation
        return dict(self.plans) if same else {}

    def _learn(self, seen: dict[str, SeriesEntry], budget: ScrapeBudget, *, note: bool = True) -> None:
        """A failed scrape read ``seen``: count its new series in ``budget.added`` and (``note``)
        note them, as Prometheus's scrape cache learns what it appended before the error."""
        new = self._new(seen, self.entries)
        budget.added = len(new - self.tried) if self.tried else len(new)
        if note and len(self.tried) + len(new) <= self.max_series:
            self.tried.update(new)

    def _new(self, seen: dict[str, SeriesEntry], previous: dict[str, SeriesEntry]) -> AbstractSet[str]:
        """The series texts of ``seen`` not in ``previous``, but those metric relabeling drops
        (Prometheus never counts them in ``scrape_series_added``)."""
        new: AbstractSet[str] = seen.keys() - previous.keys() if previous else seen.keys()
        if self.unlearnt and previous:
            new = new | (self.unlearnt & seen.keys())
        if self.unstored:
            new = new - self.unstored
        if self.maker.relabel.steps:
            new = {key for key in new if seen[key][3]}
        return new

    def _unlearnt(self, seen: dict[str, SeriesEntry], previous: dict[str, SeriesEntry]) -> set[str]:
        """The series texts of ``seen`` that Prometheus's scrape cache had not learnt and that
        this scrape did not teach it: read past ``sample_limit`` (``within``), or never stored
        (``unstored``)."""
        fresh = self.unstored if self.within is None else self.unstored | (seen.keys() - self.within)
        if not fresh:
            return set()
        return {key for key in fresh if key not in previous or key in self.unlearnt} - self.tried

    def _refuses_times(self, chunk: Chunk[SeriesEntry]) -> bool:
        """Whether a sample of ``chunk`` has its own time outside ``window`` (C-level passes
        over the exposed times of a chunk that has some)."""
        if self.window is None or chunk.timestamps is None:
            return False
        stamps: list[int] = list(filter(_NOT_NONE, chunk.timestamps))  # type: ignore[arg-type]
        earliest, latest = self.window
        return bool(stamps) and (min(stamps) < earliest or max(stamps) > latest)

    def _track_unstored(self, chunk: Chunk[SeriesEntry], seen: dict[str, SeriesEntry]) -> None:
        """Note in ``unstored`` the series texts of ``chunk`` (before ``seen`` has them) whose
        every sample so far has its own time outside ``window``."""
        unstored = self.unstored
        if not self._refuses_times(chunk):
            unstored.difference_update(chunk.keys)
            return
        assert chunk.timestamps is not None and self.window is not None
        earliest, latest = self.window
        met: set[str] = set()
        for key, stamp in zip(chunk.keys, chunk.timestamps, strict=True):
            if key is None:
                continue
            if stamp is None or earliest <= stamp <= latest:
                unstored.discard(key)
            elif key not in met and key not in seen:  # its first sample
                unstored.add(key)
            met.add(key)

    def line_of(self, sample: Sample) -> int:
        """The index, in the chunk the parse under way last yielded, of ``sample``'s line (each
        sample holds its line's value object)."""
        assert self.yielded is not None
        _, entries, values, _ = self.yielded
        return next(
            index
            for index, (entry, value) in enumerate(zip(entries, values, strict=True))
            if value is sample.value and entry[SERIES_AT] == sample.series
        )

    def relabeled_line(self, kept: int) -> int:
        """The index, in the chunk the parse under way last yielded, of the line after the first
        ``kept`` lines that metric relabeling kept (duplicates included)."""
        assert self.yielded is not None
        _, entries, _, _ = self.yielded
        if not self.maker.relabel.steps:
            return kept
        kept_lines = [index for index, entry in enumerate(entries) if entry[3]]
        return kept_lines[kept] if kept < len(kept_lines) else len(entries)

    def count_read(self, budget: ScrapeBudget, line: int | None, *, stopped: bool) -> int:
        """A limit stopped the parse under way at ``line`` of the chunk it last yielded (``None``:
        before that chunk): set ``budget.added`` to the new series read before it, as
        Prometheus's scrape loop, which appends line by line, counts them; with ``stopped`` (the
        parse ends here) they are also learnt and the rest of the chunk is not ``reading``.
        Returns how many of the chunk's lines before ``line`` metric relabeling kept."""
        seen, kept = self.reading, 0
        if line is not None and self.yielded is not None:
            keys, entries, _, before = self.yielded
            kept = sum(1 for entry in entries[:line] if entry[3])
            read = set(keys[:line])
            seen = {key: entry for at, (key, entry) in enumerate(seen.items()) if at < before or key in read}
        if stopped:
            self._reading = _Reading(seen)
        else:  # sample_limit: the parse goes on, and what it reads past the limit is not learnt
            self.within = set(seen)
        self._learn(seen, budget, note=stopped)
        return kept

    def _entries(
        self,
        chunk: Chunk[SeriesEntry],
        plans: dict[str, ShapePlan],
        seen: dict[str, SeriesEntry],
        created: Created,
    ) -> tuple[list[SeriesEntry], tuple[int, int], Columns | None]:
        """Every line's entry, the new series' made now; how many names and label pairs no
        earlier series had (``Interned``) and how many labels the new series have; and, when
        every line is a new series (a cold chunk), the columns they were made of."""
        entries = chunk.known
        labels = 0
        made_columns: Columns | None = None
        maker = self.maker
        interned = len(maker.interned)
        refused: Refused | None = None
        for new in (chunk.plain, chunk.parsed):
            if not new.at:
                continue
            final = maker.plain_labels(new, plans) if new is chunk.plain else maker.parsed_labels(new)
            labels += sum(map(len, final))
            keys = chunk.keys if len(new.at) == len(entries) else list(map(chunk.keys.__getitem__, new.at))
            try:
                made, made_columns = maker.make(new, final, keys, seen, created)
            except Refused as exc:  # at a position of the chunk; the first of both kinds fails it
                exc.at = new.at[exc.at]
                refused = exc if refused is None or exc.at < refused.at else refused
                continue
            if len(made) == len(entries):
                entries = made  # type: ignore[assignment]
            else:
                made_columns = None
                for at, entry in zip(new.at, made, strict=True):
                    entries[at] = entry
        if refused is not None:
            raise refused
        return entries, (len(maker.interned) - interned, labels), made_columns  # type: ignore[return-value]

    def _samples(
        self,
        chunk: Chunk[SeriesEntry],
        entries: list[SeriesEntry],
        made: Columns | None,
        scrape_ms: int,
        *,
        honor_timestamps: bool,
        budget: ScrapeBudget,
    ) -> list[Sample]:
        """The chunk's samples, built in C-level passes over the columns of its ``entries``
        (``made``, when the parse made them) and its own; what metric relabeling dropped is left
        out, and so is a sample whose own time is outside ``window`` (beyond int64 milliseconds
        too: ``parse.OUT_OF_RANGE``), as Prometheus 2.42's scrape loop and TSDB refuse it:
        counted as scraped and relabeled, not stored. Where the kernel is built, a chunk
        stamped ``scrape_ms`` throughout, without exemplars or native histograms, is its one pass
        (``samples``)."""
        exposed = chunk.timestamps
        if (
            _KERNEL is not None
            and (exposed is None or not honor_timestamps)
            and chunk.exemplars is None
            and chunk.histograms is None
        ):
            found: list[Sample] | None = _KERNEL.samples(
                Sample, entries, chunk.values, scrape_ms, bool(self.maker.relabel.steps)
            )
            if found is not None:
                return found
        stamps: Iterable[int] = (
            repeat(scrape_ms)
            if exposed is None or not honor_timestamps
            else [scrape_ms if stamp is None else stamp for stamp in exposed]
        )
        exemplars = repeat(None) if chunk.exemplars is None else chunk.exemplars
        histograms = repeat(None) if chunk.histograms is None else chunk.histograms
        metrics, labels, families, refs = made or columns(entries)
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
        if self.window is not None and self._refuses_times(chunk):
            earliest, latest = self.window
            every = list(rows)
            rows = [row for row in every if earliest <= row[3] <= latest]
            budget.drop_stored(len(every) - len(rows))
        return cast(list[Sample], list(map(_NEW, repeat(Sample), rows)))

    def _remember(
        self, seen: dict[str, SeriesEntry], chunk: Chunk[SeriesEntry], entries: list[SeriesEntry]
    ) -> bool:
        """Note the chunk's series in ``seen``, the first ``max_series`` distinct ones (a line
        whose text is not cut at a space has no key and is never remembered); whether some
        series text may have come twice in the body (over the bound, the answer is yes)."""
        keys = chunk.keys
        pairs: Iterable[tuple[str | None, SeriesEntry]] = zip(keys, entries, strict=True)
        if chunk.unkeyed:
            pairs = [pair for pair in pairs if pair[0] is not None]
        before = len(seen)
        if before + len(keys) <= self.max_series:
            seen.update(pairs)  # type: ignore[arg-type]
        else:
            for key, entry in pairs:
                if len(seen) < self.max_series or key in seen:
                    seen[key] = entry  # type: ignore[index]
        return len(seen) - before < (len(pairs) if isinstance(pairs, list) else len(keys))

    def _commit(
        self,
        fmt: Format,
        seen: dict[str, SeriesEntry],
        created: Created,
        families: Families,
        plans: dict[str, ShapePlan],
    ) -> None:
        """Keep the series seen by the scrape that just succeeded, and retire the refs of those
        it no longer has (gone, replaced, or never kept: over the bound)."""
        previous = self.entries
        gone: list[SeriesEntry] = []
        if fmt != self.format:
            gone += previous.values()
            self.format, previous = fmt, {}
        unlearnt = self._unlearnt(seen, previous)
        if not created.keys and not self.unlearnt:  # every line known before: none added or replaced
            self.added = 0
            if len(seen) < len(previous):
                gone += [previous[key] for key in previous.keys() - seen.keys()]
        else:
            added = self._new(seen, previous)
            self.added = len(added - self.tried) if self.tried else len(added)
            if previous or len(created.keys) != len(seen):  # else each new series was kept
                gone += _gone(previous, seen, created)
        if self.within is None:
            self.tried = set()
        elif len(self.tried) + len(previous) <= self.max_series:  # Prometheus's cache keeps them
            self.tried.update(previous.keys() - seen.keys())
        self.unlearnt = unlearnt
        shared = self.shared | created.shared
        if gone:
            self.retired += _retire(gone, seen, shared)
        if shared:
            held = set(refs_of(seen.values()))
            shared = {ref for ref in shared if ref in held}
        self.shared = shared
        self.entries = seen
        bound = VALUES_PER_SERIES * len(seen) + MIN_VALUES
        self.plans = plans if len(plans) <= bound else {}
        if self.own_values:
            bound_families(families, len(seen))
            self.families = families
            if len(self.maker.interned) > bound:  # a reset only stops new series sharing old pairs
                self.maker.interned.clear()


def _follows(reading: _Reading, chunk: Chunk[SeriesEntry], budget: ScrapeBudget) -> bool:
    """Whether ``chunk`` is the next run of the last scrape's series (``_Reading.follows``); when
    the parse stops following at it, the series followed are copied into ``reading.seen`` and
    ``budget`` is charged their slots there."""
    if reading.follows(chunk):
        return True
    if reading.following:
        budget.charge_slots(reading.followed)
        reading.materialized()
    return False


class _Reading:
    """The series a parse read so far, by series text (``seen``), in the order it read them.

    A warm scrape's body usually has the last scrape's series in the last scrape's order, each
    known: while it does (``follow``, ``follows``), the series read so far are the first
    ``followed`` entries of the last scrape's, counted, not copied. At the first chunk that is
    not the next run of them (a new series, one gone or moved, a line without a series text),
    or when anyone asks for them (``materialized``), they are copied into ``seen`` and the parse
    goes on from there as any other. A body that was the last scrape's throughout ends with its
    entries as they were (``finished``): the very same dict, which nothing changes in place."""

    __slots__ = ("followed", "following", "next_keys", "previous", "seen")

    def __init__(self, seen: dict[str, SeriesEntry] | None = None) -> None:
        self.seen: dict[str, SeriesEntry] = {} if seen is None else seen
        self.previous: dict[str, SeriesEntry] = {}
        self.next_keys: Iterator[str] = iter(())
        """The last scrape's series texts not followed yet (read a chunk's worth at a time, so
        that following holds no more than a chunk)."""
        self.followed = 0
        self.following = False

    def follow(self, previous: dict[str, SeriesEntry], bound: int) -> None:
        """Follow ``previous`` (the last scrape's entries, which the parse looks series up in:
        none after another format), unless it holds more than ``bound`` series (the cache's
        bound changed)."""
        self.previous, self.next_keys, self.followed = previous, iter(previous), 0
        self.following = bool(previous) and not self.seen and len(previous) <= bound

    def follows(self, chunk: Chunk[SeriesEntry]) -> bool:
        """Whether ``chunk``'s lines are the next of the last scrape's series, each found among
        them (its entries then are the last scrape's, in turn); ``False`` once it stopped."""
        if not self.following:
            return False
        count = len(chunk.keys)
        if chunk.unkeyed or chunk.plain.at or chunk.parsed.at or self.followed + count > len(self.previous):
            return False
        return chunk.keys == list(islice(self.next_keys, count))

    def size(self) -> int:
        """How many distinct series were read so far."""
        return self.followed if self.following else len(self.seen)

    def materialized(self) -> dict[str, SeriesEntry]:
        """The series read so far in ``seen``, where the parse goes on from (following stops)."""
        if self.following:
            self.following = False
            if self.followed:
                self.seen.update(islice(self.previous.items(), self.followed))
        return self.seen

    def finished(self) -> dict[str, SeriesEntry]:
        """The series the whole body had: the last scrape's own dict when they were its, all."""
        if self.following and self.followed == len(self.previous):
            self.following = False
            self.seen = self.previous
        return self.materialized()


def _then_failing(chunks: Iterator[Chunk[SeriesEntry]]) -> Iterator[Chunk[SeriesEntry]]:
    """``chunks``, and when the parse fails, the sample lines before the error in the chunk at
    fault as one more chunk before the error: Prometheus's scrape loop appends them (and checks
    their limits, and the scrape stage's refusals) before it meets the error."""
    try:
        yield from chunks
    except ParseError as exc:
        partial, exc.partial = exc.partial, None
        if partial is not None and partial.keys:
            yield partial
        raise


def _refusal(refused: Refused, data: bytes, chunk: Chunk[SeriesEntry]) -> ParseError:
    """The scrape's error for a series of ``chunk`` the scrape stage refused: at its line, which
    counts as scraped, after the lines before it (``partial``), as Prometheus's scrape loop
    appends line by line (and checks their limits first)."""
    error = ParseError(refused.reason, sample_line(data, chunk, refused.at), appended=True)
    error.partial = chunk.head(refused.at)
    return error


def _gone(
    previous: dict[str, SeriesEntry], seen: dict[str, SeriesEntry], created: Created
) -> list[SeriesEntry]:
    """The entries a parse that made ``created`` leaves behind: those of the series gone since
    ``previous``, those it replaced, and the new ones it did not keep."""
    gone = [previous[key] for key in previous.keys() - seen.keys()]
    for key, entry in zip(created.keys, created.entries, strict=True):
        kept = seen.get(key) if key is not None else None
        if kept is not entry:
            gone.append(entry)
        old = previous.get(key) if key is not None else None
        if old is not None and kept is not None and kept is not old:
            gone.append(old)
    return gone


def _retire(gone: list[SeriesEntry], seen: dict[str, SeriesEntry], shared: set[SeriesRef]) -> list[SeriesRef]:
    """The refs of the ``gone`` entries that no entry kept holds (a ref may be one series'
    under several texts)."""
    refs = {entry[SERIES_AT]: entry for entry in gone}
    if shared and not shared.isdisjoint(refs):
        held = set(refs_of(seen.values()))
        refs = {ref: entry for ref, entry in refs.items() if ref not in held}
    return list(refs)


class _Firsts:
    """The samples of one body kept so far, by series and time, once a series may repeat (a
    series text that comes twice, or a series under several texts or families): the first
    sample of each is kept, the rest are dropped and counted. Until then it costs nothing. A
    series is its final name and labels, whatever its family (two refs, to a sink), as in
    Prometheus's TSDB."""

    __slots__ = ("emitted", "yielded")

    def __init__(self) -> None:
        self.yielded: list[list[Sample]] = []
        self.emitted: set[tuple[str, Labels, int]] | None = None

    def start(self) -> None:
        if self.emitted is None:
            self.emitted = {(s.name, s.labels, s.timestamp_ms) for samples in self.yielded for s in samples}
            self.yielded = []

    def kept(self, samples: list[Sample], budget: ScrapeBudget) -> list[Sample]:
        emitted = self.emitted
        if emitted is None:
            self.yielded.append(samples)
            return samples
        size = len(emitted)
        kept = []
        for sample in samples:
            emitted.add((sample.name, sample.labels, sample.timestamp_ms))
            if len(emitted) > size:
                size += 1
                kept.append(sample)
        if len(kept) < len(samples):
            budget.drop_duplicates(len(samples) - len(kept))
        return kept


def _stamped(chunk: Chunk[SeriesEntry], stamps: list[int | None]) -> Iterable[tuple[str | None, int | None]]:
    """The series texts of the chunk's lines exposed with their own timestamp, with it (in one
    C-level pass when every line has one: a federation endpoint's)."""
    if None not in stamps and not chunk.unkeyed:
        return zip(chunk.keys, stamps, strict=True)
    return [(key, stamp) for key, stamp in zip(chunk.keys, stamps, strict=True) if stamp is not None and key]
