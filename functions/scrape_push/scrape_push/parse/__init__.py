"""The parse stage: exposition bytes in, chunks of raw series out, with Prometheus's semantics.

Contract (docs/parser.md, docs/architecture.md):

* ``format_for(content_type)`` picks the format by media type (text 0.0.4 when none matches);
  ``fmt.chunks(data, known, families)`` iterates the body's ``Chunk`` objects, one per chunk of
  about ``CHUNK_BYTES`` of text (whole lines), in exposition order; ``families`` (``Families``)
  interns the families read and remembers what runs of comment lines read to;
* a chunk's sample lines are columns: series text, the caller's entry when ``known`` has that
  text and the line is read under the same metadata block (``KnownSeries``), value,
  timestamp, exemplar; for every other line the name, the family and the raw labels (label-set
  shape and values for plain lines, label pairs for the rest). The parser knows nothing of
  targets: the caller turns raw labels into final ones, and remembers what it wants;
* invalid input raises ``ParseError`` naming the line and the reason, in line order whatever
  the caller knew (a warm parse fails where a cold one does), possibly after chunks were
  yielded: a caller keeps nothing from a parse that did not run to its end. Nothing else leaves
  the parser;
* time is linear in the body and transient memory bounded by the chunk size.

Formats: Prometheus text 0.0.4 and OpenMetrics 1.0 (``formats.py``), Prometheus's protobuf
(``protobuf.py``; docs/parser.md for the
rules and where they differ from prometheus_client's parsers).
"""

from __future__ import annotations

from .body import CHUNK_BYTES
from .chunk import (
    KNOWN_CONTEXT,
    KNOWN_FAMILY,
    KNOWN_NAME,
    Chunk,
    KnownSeries,
    NewSeries,
    PlainTexts,
    Repeated,
    plain_values,
    shape_labels,
)
from .errors import ParseError
from .formats import FORMATS, OPENMETRICS, TEXT, Format, Histograms, format_for, register_format
from .grammar import OUT_OF_RANGE
from .metadata import Families
from .parser import newlines, sample_line
from .protobuf import PROTOBUF

__all__ = [
    "CHUNK_BYTES",
    "KNOWN_CONTEXT",
    "KNOWN_FAMILY",
    "KNOWN_NAME",
    "FORMATS",
    "OUT_OF_RANGE",
    "OPENMETRICS",
    "PROTOBUF",
    "TEXT",
    "Chunk",
    "Families",
    "Format",
    "Histograms",
    "KnownSeries",
    "NewSeries",
    "PlainTexts",
    "Repeated",
    "ParseError",
    "newlines",
    "plain_values",
    "sample_line",
    "format_for",
    "register_format",
    "shape_labels",
]
