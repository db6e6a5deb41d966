"""The scrape stage: targets in, samples out (final labels, timestamps, series refs).

``scraper.Scraper`` fetches every target concurrently within its deadline and memory budget
(``fetch``, ``guard``, ``reach``, ``budget``) and turns each body into samples through the
target's ``series.SeriesCache`` (parse, target labels, metric relabeling, limits), adding
``up`` and the ``scrape_*`` series. Contract with the sinks: docs/architecture.md.
"""

from __future__ import annotations

from .entries import SeriesEntry
from .scraper import (
    ABORT_GRACE_SECONDS,
    MAX_ERROR_CHARS,
    Scraper,
    ScrapeResult,
    failed,
    shown_error,
)
from .series import MAX_SERIES, SeriesCache
from .stale import EndedTarget

__all__ = [
    "ABORT_GRACE_SECONDS",
    "MAX_ERROR_CHARS",
    "MAX_SERIES",
    "EndedTarget",
    "ScrapeResult",
    "Scraper",
    "SeriesCache",
    "SeriesEntry",
    "failed",
    "shown_error",
]
