"""The parse stage: exposition bytes in, ``Sample`` objects out, with Prometheus's semantics.

Contract:

* ``parse_chunks(data, content_type, cache=None, budget=None)`` is an iterator of lists of
  samples, one list per chunk of the body (about ``CHUNK_BYTES`` of text, whole lines), in
  exposition order. Each sample has its full series name (``x_total``, ``x_bucket``), its
  labels sorted and without empty values, its own timestamp in ms or ``None``, and its
  family's metadata;
* with a ``SeriesCache`` the labels are the FINAL ones (the cache's finisher merged the target's
  labels) and each sample carries the series' ``cache`` dict, shared by later scrapes;
* invalid input raises ``ParseError`` naming the line and the reason, possibly after chunks
  were yielded: a caller keeps nothing from a parse that did not run to its end;
* the cache is changed only when the iterator is exhausted, i.e. once the whole body parsed.
  A caller that stops early (a limit broke, its deadline came) leaves the cache as it was;
* ``budget.charge`` is called after every chunk with what the chunk built, and raises
  ``MemoryBudgetExceeded`` (a ``LimitExceeded``) when ``budget.max_bytes`` is exceeded. The
  parser does not apply the budget's sample and label limits: they count the samples left
  after ``metric_relabel_configs``, so the scrape stage ``admit``s each relabeled chunk::

      budget = ScrapeBudget(target.limits, max_bytes=share)
      kept = []
      for chunk in parse_chunks(body, content_type, cache, budget):
          chunk = relabel(chunk)
          budget.admit(chunk)        # LimitExceeded: stop; no cache change
          kept.extend(chunk)

* ``parse_exposition(data, content_type, cache=None, budget=None)`` is the same parse as one
  list. Nothing but ``ParseError`` and ``LimitExceeded`` leaves either.

Time is linear in the body and transient memory bounded by the chunk size (docs/parser.md).

Formats: Prometheus text 0.0.4 and OpenMetrics 1.0, chosen by ``Content-Type``. See
docs/parser.md for the rules and where they differ from prometheus_client's parsers.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..limits import ScrapeBudget
from ..model import Sample
from . import parser
from .body import CHUNK_BYTES
from .cache import MAX_SERIES, LabelFinisher, SeriesCache
from .errors import ParseError

OPENMETRICS = "application/openmetrics-text"

__all__ = [
    "CHUNK_BYTES",
    "MAX_SERIES",
    "OPENMETRICS",
    "LabelFinisher",
    "ParseError",
    "SeriesCache",
    "is_openmetrics",
    "parse_chunks",
    "parse_exposition",
]


def is_openmetrics(content_type: str | None) -> bool:
    """Whether a response ``Content-Type`` selects the OpenMetrics parser (else text 0.0.4)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == OPENMETRICS


def parse_chunks(
    data: bytes,
    content_type: str | None = None,
    cache: SeriesCache | None = None,
    budget: ScrapeBudget | None = None,
) -> Iterator[list[Sample]]:
    """Parse a scrape body chunk by chunk; see the module docstring for the contract."""
    return parser.parse_chunks(
        data,
        is_openmetrics(content_type),
        SeriesCache() if cache is None else cache,
        cache is not None,
        ScrapeBudget() if budget is None else budget,
    )


def parse_exposition(
    data: bytes,
    content_type: str | None = None,
    cache: SeriesCache | None = None,
    budget: ScrapeBudget | None = None,
) -> list[Sample]:
    """Parse a scrape body into one list; see the module docstring for the contract."""
    samples: list[Sample] = []
    for chunk in parse_chunks(data, content_type, cache, budget):
        samples += chunk
    return samples
