"""The parse stage: exposition bytes in, ``Sample`` objects out, with Prometheus's semantics.

Contract:

* ``parse_exposition(data, content_type, cache=None)`` returns the samples in exposition order,
  each with its full series name (``x_total``, ``x_bucket``), its labels sorted and without empty
  values, its own timestamp in ms or ``None``, and its family's metadata;
* with a ``SeriesCache`` the labels are the FINAL ones (the cache's finisher merged the target's
  labels) and each sample carries the series' ``cache`` dict, shared by later scrapes;
* invalid input raises ``ParseError`` naming the line and the reason; nothing is returned
  for a partially valid exposition (and the cache is left as it was).

Formats: Prometheus text 0.0.4 and OpenMetrics 1.0, chosen by ``Content-Type``. See
docs/parser.md for the rules and where they differ from prometheus_client's parsers.
"""

from __future__ import annotations

from ..model import Sample
from .cache import MAX_SERIES, LabelFinisher, SeriesCache
from .errors import ParseError
from .parser import parse_lines

OPENMETRICS = "application/openmetrics-text"

__all__ = [
    "MAX_SERIES",
    "OPENMETRICS",
    "LabelFinisher",
    "ParseError",
    "SeriesCache",
    "is_openmetrics",
    "parse_exposition",
]


def is_openmetrics(content_type: str | None) -> bool:
    """Whether a response ``Content-Type`` selects the OpenMetrics parser (else text 0.0.4)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == OPENMETRICS


def parse_exposition(
    data: bytes, content_type: str | None = None, cache: SeriesCache | None = None
) -> list[Sample]:
    """Parse a scrape body; see the module docstring for the contract."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(f"invalid UTF-8 at byte {exc.start}", line) from None
    if cache is None:
        return parse_lines(text, is_openmetrics(content_type), SeriesCache(), keep=False)
    return parse_lines(text, is_openmetrics(content_type), cache, keep=True)
