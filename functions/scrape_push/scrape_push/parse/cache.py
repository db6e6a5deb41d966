"""The series cache: the idea behind Prometheus's scrape cache, for a warm Lambda.

Per target, remember each series' exposition text (everything before the value, e.g.
``http_requests_total{code="200",method="get"}``) together with what parsing it produced: the
metric name, the FINAL label set (after the scrape stage merged the target's labels), the
family, and a scratch dict that sinks fill with their encodings (``Sample.cache``). A warm
scrape of an unchanged series is then a dict lookup and one ``float()``.

Bounded: at most ``max_series`` entries; a series not seen in a scrape is dropped at the end of
that scrape, so the cache holds exactly the target's current series (up to the bound).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..model import Family, Labels

MAX_SERIES: Final = 200_000
"""Default bound on the series remembered per target (a few hundred bytes each, plus what
sinks store), sized for the largest single targets (kube-state-metrics on big clusters)."""

LabelFinisher = Callable[[list[tuple[str, str]]], Labels]
"""Turns an exposition's label pairs (unsorted, no empty values, no duplicates) into the
series' final sorted ``Labels``."""

Entry = tuple[str, Labels, Family, "dict[str, object] | None", "Family | None"]
"""(name, final labels, family, sink scratch dict, metadata context it was resolved under)."""


def sorted_labels(pairs: list[tuple[str, str]]) -> Labels:
    """The default finisher: the exposed labels as they are, sorted."""
    pairs.sort()
    return tuple(pairs)


class SeriesCache:
    """One target's parsed series, keyed by series text; survives warm invocations.

    >>> cache = SeriesCache()
    >>> from scrape_push.parse import parse_exposition
    >>> first = parse_exposition(b'up{a="1"} 1\\n', None, cache)
    >>> second = parse_exposition(b'up{a="1"} 0\\n', None, cache)
    >>> first[0].cache is second[0].cache and first[0] is not second[0]
    True
    """

    def __init__(self, finish: LabelFinisher | None = None, max_series: int = MAX_SERIES) -> None:
        self.finish: LabelFinisher = finish or sorted_labels
        self.max_series = max_series
        self.openmetrics: bool | None = None
        self.entries: dict[str, Entry] = {}
        self.synthetic: dict[str, dict[str, object]] = {}
        """Scratch space of the target's ``up``/``scrape_*`` series (see ``labels.synthetic``)."""
        self.added = 0
        """Series the last successful scrape had that the one before did not
        (``scrape_series_added``)."""
        self.shapes: dict[str, Any] = {}
        """Per label-set shape, how to build final labels (see ``parser._shape``)."""
        self.families: dict[Family, Family] = {}
        """Interned families, so that an unchanged ``# HELP``/``# TYPE`` block yields the very
        same object scrape after scrape and cached entries can be checked with ``is``."""

    def __len__(self) -> int:
        return len(self.entries)

    def usable(self, openmetrics: bool) -> tuple[dict[str, Entry], dict[Family, Family], dict[str, Any]]:
        """The entries, families and shapes a scrape in this format may use (none after a
        format switch). A scrape only reads them: it hands its own to ``commit``."""
        if openmetrics is self.openmetrics:
            return self.entries, self.families, self.shapes
        return {}, {}, {}

    def commit(
        self,
        openmetrics: bool,
        seen: dict[str, Entry],
        families: dict[Family, Family],
        shapes: dict[str, Any],
    ) -> None:
        """Keep only the series seen by the scrape that just succeeded, within the bound, and
        its families and shapes (the cache's own, and those it added)."""
        if openmetrics is not self.openmetrics:
            self.openmetrics = openmetrics
            self.entries = {}
        if len(seen) > self.max_series:
            seen = dict(list(seen.items())[: self.max_series])
        previous = self.entries
        self.added = sum(1 for key in seen if key not in previous)
        self.entries = seen
        self.families = families if len(families) <= 4 * len(seen) + 1024 else {}
        self.shapes = shapes if len(shapes) <= 4 * len(seen) + 1024 else {}
