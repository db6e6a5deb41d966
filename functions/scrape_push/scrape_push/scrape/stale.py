"""Staleness markers: what Prometheus's scrape cache does with ``seriesPrev``/``seriesCur``.

Per target, the series cache keeps the series its last scrape *tracked*: every series of the
last successful scrape except those the metric relabeling dropped and, unless
``track_timestamps_staleness``, those exposed with their own timestamp (Prometheus 2.42 tracks
only samples it stamps itself). A scrape then marks stale, at its own timestamp (the one its
``up`` carries):

* after a successful scrape, each tracked series it no longer has;
* after a scrape that failed before parsing (HTTP error, timeout, body size, a target not
  scraped), every tracked series, as for an empty scrape; after a parse or limit error, those
  not read before the error (Prometheus keeps the series it appended before the error);
* when a target leaves the configuration or its discovery, every tracked series and its ``up``
  and ``scrape_*`` series, stamped one scrape interval after its last scrape (not later than
  now), as Prometheus's end-of-run staleness does.

A marker is an ordinary ``Sample`` whose value is ``model.STALE_NAN``, with its series' ref, so
every sink sees it (Remote Write sends it; CloudWatch, Graphite and OTLP do not). A series whose
last samples were native histograms gets a histogram marker, as Prometheus's head turns a stale
NaN on a histogram series into one (``model.STALE_HISTOGRAM``, ``STALE_FLOAT_HISTOGRAM``): the
tracker keeps which tracked series were (``Tracker.natives``), and the record says so too.
``up`` and ``scrape_*`` are never tracked: a failing target keeps reporting ``up 0``.

A cold process starts from the series a persisted record says each target had (``record.py``):
they are compared by final name and labels, since the record has no series texts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from ..labels import SYNTHETIC, merge_labels
from ..model import (
    STALE_FLOAT_HISTOGRAM,
    STALE_HISTOGRAM,
    STALE_NAN,
    Family,
    Labels,
    NativeHistogram,
    Sample,
    SeriesRef,
)
from ..parse import Families, ParseError, format_for
from ..targets import Target
from .entries import SERIES_AT, Created, SeriesEntry

SeriesId = tuple[str, Labels]
"""A series as a record keeps it: its final name and labels."""

Marker = NativeHistogram | None
"""What a series' staleness marker carries: ``None`` for a float series, else the histogram
marker of its kind (``STALE_HISTOGRAM``, ``STALE_FLOAT_HISTOGRAM``)."""

Seed = dict[SeriesId, Marker]
"""The series a target's last scrape tracked, as a persisted record gives them to a cold cache,
each with its marker's kind."""

_METRIC: Final = 3
_LABELS: Final = 4
_FAMILY: Final = 1
_OPENMETRICS_END: Final = b"# EOF\n"
_OPENMETRICS: Final = "application/openmetrics-text"
_LINE_FORMATS: Final = ("text/plain", _OPENMETRICS)
"""The formats whose errors name a line (a protobuf error names a message: every series goes)."""


def series_id(entry: SeriesEntry) -> SeriesId:
    return entry[_METRIC], entry[_LABELS]


def histogram_markers(
    keys: Sequence[str | None], histograms: Sequence[NativeHistogram | None]
) -> Iterator[tuple[str, NativeHistogram]]:
    """The series texts of a chunk's native histogram lines, each with the marker of its kind."""
    for key, histogram in zip(keys, histograms, strict=False):
        if histogram is not None and key is not None:
            yield key, STALE_FLOAT_HISTOGRAM if histogram.floats else STALE_HISTOGRAM


def entry_markers(
    gone: Iterable[SeriesEntry],
    scrape_ms: int,
    stamps: dict[str, int],
    keys: Sequence[str],
    natives: dict[str, NativeHistogram],
) -> list[Sample]:
    """A marker at ``scrape_ms`` for each distinct series of ``gone`` the metric relabeling kept,
    a histogram one for those ``natives`` names (by series text, as ``keys``, parallel to
    ``gone``). With ``stamps`` (the last explicit timestamp of series by text), a series whose own
    timestamp is not before ``scrape_ms`` gets none: the marker would be out of order, and
    Prometheus drops it."""
    found: dict[SeriesId, Sample] = {}
    for index, entry in enumerate(gone):
        if not entry[_METRIC]:
            continue
        if stamps and stamps.get(keys[index], -1) >= scrape_ms:
            continue
        key = series_id(entry)
        if key not in found:
            found[key] = Sample(
                entry[_METRIC],
                entry[_LABELS],
                STALE_NAN,
                scrape_ms,
                entry[_FAMILY],
                entry[SERIES_AT],
                None,
                natives.get(keys[index]) if natives else None,
            )
    return list(found.values())


@dataclass
class EndedTarget:
    """A target that left the configuration or its discovery, and its staleness markers."""

    job: str
    labels: Labels
    """Its final target labels: with ``job``, its identity."""
    url: str
    """``""`` when only the staleness record knew the target (a record keeps no URL)."""
    samples: list[Sample]

    @property
    def instance(self) -> str:
        return dict(self.labels).get("instance", "")


class Tracking(NamedTuple):
    """How one successful scrape is tracked."""

    stamped: dict[str, int]
    """The series texts exposed with their own timestamp (honoured), with it."""
    track_timestamped: bool
    """``track_timestamps_staleness``: those are tracked too."""
    scrape_ms: int
    before: dict[str, SeriesEntry]
    """The cache's entries before the scrape."""
    natives: dict[str, NativeHistogram]
    """The series texts whose samples were native histograms, with their marker."""


class Tracker:
    """One target's staleness memory (owned by its series cache)."""

    def __init__(self, refs: Iterator[SeriesRef], synthetic: Sequence[SeriesRef]) -> None:
        self.refs = refs
        self.synthetic = synthetic
        self.tracked: dict[str, SeriesEntry] = {}
        """Prometheus's ``seriesPrev``: the series the next scrape marks stale if it lacks them.
        Usually the cache's entries themselves (nothing copied)."""
        self.stamps: dict[str, int] = {}
        """The exposed timestamps of tracked series that had one (``track_timestamps_staleness``)."""
        self.natives: dict[str, NativeHistogram] = {}
        """The series texts of the last successful scrape whose samples were native histograms,
        with the marker each gets (empty for a target without any: the common case)."""
        self.seed: Seed | None = None
        """From a persisted record, at a cold start: the series tracked before this process."""
        self.changed = False
        """The tracked series changed since the owner last cleared it (a record is due)."""
        self.last: tuple[Target, int] | None = None
        """The target and the time of its last scrape, successful or not (end-of-run)."""
        self.key: str | None = None
        """This target's key in the staleness record, once made (``record.py``)."""
        self._stale: list[Sample] = []
        self._retired: list[SeriesRef] = []

    def take_stale(self) -> list[Sample]:
        """The markers of the last successful scrape."""
        stale, self._stale = self._stale, []
        return stale

    def take_retired(self) -> list[SeriesRef]:
        """The refs given to markers of seeded series (the sinks forget them after the push)."""
        retired, self._retired = self._retired, []
        return retired

    def series(self) -> list[tuple[SeriesId, Marker]]:
        """The final names and labels of the tracked series with their marker's kind (what a
        record keeps), and the seed's if no scrape took it yet."""
        natives = self.natives
        found = [
            (series_id(entry), natives.get(key) if natives else None)
            for key, entry in self.tracked.items()
            if entry[_METRIC]
        ]
        return found if self.seed is None else [*found, *self.seed.items()]

    def scraped(self, seen: dict[str, SeriesEntry], created: Created, how: Tracking) -> None:
        """A scrape read ``seen`` (making ``created``): mark stale what the previous one tracked
        and this one lacks, and track this one's. An unchanged target (the common case) costs
        nothing: no entry was made, none is missing."""
        previous = self.tracked
        tracked = seen
        if how.stamped and not how.track_timestamped:
            stamped = how.stamped
            everything = len(stamped) >= len(seen) and seen.keys() <= stamped.keys()
            tracked = {} if everything else {key: entry for key, entry in seen.items() if key not in stamped}
        self._stale = []
        natives = how.natives
        if self.seed is not None:  # a cold process's first scrape: compared with the record
            present = {
                series_id(entry): natives.get(key) if natives else None
                for key, entry in tracked.items()
                if entry[_METRIC]
            }
            seed = self.seed
            left = {found: marker for found, marker in seed.items() if found not in present}
            differs = (
                bool(left)
                or len(present) != len(seed)
                or any(seed.get(k) is not m for k, m in present.items())
            )
            self.changed = self.changed or differs
            self._stale = self._seeded(left, how.scrape_ms)
        elif tracked is not seen or previous is not how.before or created.keys or len(seen) != len(previous):
            self._stale = self._gone(previous, tracked, created, how.scrape_ms)
        if natives != self.natives:  # a series became (or stopped being) a native histogram
            self.changed = True
        self.tracked = tracked
        self.stamps = how.stamped if how.track_timestamped else {}
        self.natives = natives

    def _gone(
        self, previous: dict[str, SeriesEntry], tracked: dict[str, SeriesEntry], created: Created, at: int
    ) -> list[Sample]:
        gone = list(previous.keys() - tracked.keys()) if previous else []  # a cold scrape: none
        self.changed = self.changed or bool(gone) or len(tracked) != len(previous)
        if not gone:
            return []
        stale = entry_markers(map(previous.__getitem__, gone), at, self.stamps, gone, self.natives)
        if stale and created.entries:  # a new text of a gone series' labels: the series goes on
            renamed = set(map(series_id, created.entries))
            stale = [sample for sample in stale if (sample.name, sample.labels) not in renamed]
        return stale

    def failed(self, scrape_ms: int, kept: Collection[str] = ()) -> list[Sample]:
        """The markers of a failed scrape at ``scrape_ms``: every tracked series but those whose
        texts are in ``kept`` (read before a parse or limit error), which alone stay tracked."""
        previous = self.tracked
        still = {key: previous[key] for key in kept if key in previous}
        gone = [key for key in previous if key not in still]
        stale = entry_markers(map(previous.__getitem__, gone), scrape_ms, self.stamps, gone, self.natives)
        self.changed = self.changed or len(still) != len(previous) or bool(self.seed)
        if self.seed is not None:
            stale += self._seeded(self.seed, scrape_ms)
        self.tracked = still
        return stale

    def ended(self, now_ms: int) -> list[Sample]:
        """End-of-run staleness: the target left; markers for its tracked series and its ``up``
        and ``scrape_*`` series (none if it was never scraped)."""
        if self.last is None:
            return []
        target, last_ms = self.last
        stale_ms = end_of_run_ms(last_ms, target.interval, now_ms)
        stale = entry_markers(self.tracked.values(), stale_ms, self.stamps, list(self.tracked), self.natives)
        if self.seed is not None:
            stale += self._seeded(self.seed, stale_ms)
        return stale + report_markers(target.labels, target.external_labels, self.synthetic, stale_ms)

    def _seeded(self, seed: Seed, at: int) -> list[Sample]:
        """Markers for series known only from a record (fresh refs, retired at once)."""
        self.seed = None
        stale = seed_markers(seed, self.refs, at)
        self._retired += [sample.series for sample in stale]
        return stale


def seed_markers(seed: Seed, refs: Iterable[SeriesRef], scrape_ms: int) -> list[Sample]:
    """Markers at ``scrape_ms`` for series known only from a record, with fresh ``refs``."""
    return [
        Sample(name, labels, STALE_NAN, scrape_ms, Family(name), ref, None, marker)
        for ((name, labels), marker), ref in zip(seed.items(), refs, strict=False)
    ]


def report_markers(
    labels: Labels, external: Labels, refs: Iterable[SeriesRef], stale_ms: int
) -> list[Sample]:
    """Markers for the ``up`` and ``scrape_*`` series of a target with these target and external
    labels (end-of-run staleness only)."""
    labels = merge_labels((), labels, False, external)
    return [
        Sample(family.name, labels, STALE_NAN, stale_ms, family, ref)
        for family, ref in zip(SYNTHETIC, refs, strict=False)
    ]


def end_of_run_ms(last_ms: int, interval_s: float, now_ms: int) -> int:
    """When a target that left is marked stale: one interval after its last scrape, as
    Prometheus stamps it (the next tick of the stopped loop), but never in the future."""
    return min(now_ms, last_ms + round(interval_s * 1000))


def keys_before(
    data: bytes, content_type: str | None, line: int | None, between: Callable[[], None] = lambda: None
) -> set[str]:
    """The series texts of the lines before ``line`` of a text body whose parse failed there: the
    series Prometheus appended before the error, so that it marks none of them stale. The
    lines before the error parse on their own (an OpenMetrics prefix gets its ``# EOF``),
    ``between()`` called before each chunk (the scrape's deadline and turn: a huge body read
    again)."""
    fmt = format_for(content_type)
    if not line or line <= 1 or fmt.media_type not in _LINE_FORMATS:
        return set()
    lines = data.split(b"\n", line - 1)
    if len(lines) < line:
        return set()
    end = len(data) - len(lines[-1])
    del lines
    prefix = data[:end] + _OPENMETRICS_END if fmt.media_type == _OPENMETRICS else data[:end]
    keys: set[str] = set()
    nothing: dict[str, SeriesEntry] = {}
    try:
        for chunk in fmt.chunks(prefix, nothing, Families()):
            between()
            keys.update(key for key in chunk.keys if key is not None)
    except ParseError:
        pass  # a fault only a whole body shows: the chunks read before it are what Prometheus kept
    return keys
