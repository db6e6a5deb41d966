"""The one contract between pipeline stages: a scraped series and its family's metadata.

The parse stage produces ``Sample`` objects with the labels the exposition carried; the
scrape stage attaches target labels and timestamps; sinks only ever read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name, without ``__name__`` and without empty values."""

MetricType = Literal[
    "counter",
    "gauge",
    "histogram",
    "summary",
    "untyped",
    "unknown",
    "gaugehistogram",
    "info",
    "stateset",
]


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family's metadata as the exposition declared it (``# TYPE``/``HELP``/``UNIT``)."""

    name: str
    type: MetricType = "untyped"
    help: str = ""
    unit: str = ""


UNTYPED = Family(name="", type="untyped")


@dataclass(frozen=True, slots=True)
class Exemplar:
    """An OpenMetrics exemplar attached to a sample."""

    labels: Labels
    value: float
    timestamp_ms: int | None = None


@dataclass(slots=True)
class Sample:
    """One sample of one series, e.g. ``http_requests_total{code="200",job="api"} 7``.

    ``timestamp_ms`` is ``None`` straight out of the parser when the exposition gave none;
    after the scrape stage it always holds the time to push (the scrape time, or the
    exposition's own timestamp when ``honor_timestamps`` is on).
    """

    name: str
    labels: Labels
    value: float
    timestamp_ms: int | None = None
    family: Family = UNTYPED
    exemplar: Exemplar | None = field(default=None)
    cache: dict[str, object] | None = field(default=None, repr=False, compare=False)
    """Per-series scratch space shared by every warm scrape of the same series (set by the
    parse stage's series cache once the final labels are known, else ``None``). A sink may
    keep its encoding of ``(name, labels)`` here under a key that includes its own config
    identity, so a warm scrape skips re-encoding."""

    def label(self, name: str) -> str | None:
        """Return the value of label ``name``, or ``None`` when the series lacks it."""
        for key, value in self.labels:
            if key == name:
                return value
        return None


def sort_labels(pairs: dict[str, str]) -> Labels:
    """Build a ``Labels`` tuple from a mapping, dropping empty values as Prometheus does."""
    return tuple(sorted((k, v) for k, v in pairs.items() if v != ""))
