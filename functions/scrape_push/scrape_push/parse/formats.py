"""Exposition formats, chosen by the response's media type (Prometheus's ``textparse.New``).

A format turns a body into ``Chunk`` objects against the series its caller knows
(``Format.chunks``). Formats register here by media type; a ``Content-Type`` no format
registered (or none at all) is read as Prometheus text 0.0.4, as Prometheus does. Adding one
(protobuf, say) is a module with its parser and a ``register_format`` call (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from . import dialects, parser
from .chunk import Chunk, K, PlainTexts
from .dialects import Dialect
from .metadata import Families


@dataclass(frozen=True)
class Histograms:
    """What a job asks of histograms (only the protobuf exposition carries native ones)."""

    native: bool = False
    """``scrape_native_histograms``: native histograms read as such (else as their classic
    part)."""
    classic: bool = False
    """``always_scrape_classic_histograms``: a native histogram's classic part read too."""


class Format(Protocol):
    """One exposition format."""

    @property
    def name(self) -> str:
        """How errors and the documentation call it (``text 0.0.4``, ``OpenMetrics 1.0``)."""
        ...

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` media type it serves, lower case, without parameters."""
        ...

    def chunks(
        self,
        data: bytes,
        known: Mapping[str, K],
        families: Families,
        strict: bool = False,
        *,
        texts: dict[str, PlainTexts] | None = None,
    ) -> Iterator[Chunk[K]]:
        """Parse ``data`` chunk by chunk. ``known`` maps the series texts the caller knows to its
        entries; ``families`` is the table the metadata blocks' families are interned into, with
        what runs of comment lines read to (it grows: give a copy, ``Families.copy``, to keep
        the original as it was if the parse fails). Invalid input raises ``ParseError`` with the
        line, possibly after chunks were yielded. By default the format accepts what Prometheus
        2.42 accepts; ``strict`` also refuses what only the format's spec forbids
        (docs/parser.md, "Strict parsing"). ``texts`` holds what parses of other bodies read of
        their series texts (``PlainTexts``, by dialect; it grows), for a text format to take
        instead of reading them again."""
        ...

    def configured(self, histograms: Histograms) -> Format:
        """This format reading histograms as a job asks (equal whenever the options are)."""
        ...


@dataclass(frozen=True)
class TextFormat:
    """Prometheus text 0.0.4 or OpenMetrics 1.0: one line parser, two dialects."""

    media_type: str
    dialect: Dialect

    @property
    def name(self) -> str:
        return self.dialect.name

    def chunks(
        self,
        data: bytes,
        known: Mapping[str, K],
        families: Families,
        strict: bool = False,
        *,
        texts: dict[str, PlainTexts] | None = None,
    ) -> Iterator[Chunk[K]]:
        return parser.parse(self.dialect, data, known, families, strict, texts=texts)

    def configured(self, histograms: Histograms) -> TextFormat:
        return self  # the text formats have classic histograms only


TEXT: Final = TextFormat("text/plain", dialects.TEXT)
OPENMETRICS: Final = TextFormat("application/openmetrics-text", dialects.OPENMETRICS)

FORMATS: dict[str, Format] = {}
"""Media type -> format. Filled by the registrations below (and by any format module's); like the
plugin registries it has nothing to reset."""


def register_format(format_: Format) -> None:
    """Serve ``format_.media_type`` with ``format_``."""
    FORMATS[format_.media_type] = format_


def _media_type(content_type: str | None) -> str:
    """``application/openmetrics-text`` from ``application/openmetrics-text; version=1.0.0``."""
    return content_type.split(";", 1)[0].strip().lower() if content_type else ""


def format_for(content_type: str | None) -> Format:
    """The format a response's ``Content-Type`` selects: text 0.0.4 unless another is registered."""
    return FORMATS.get(_media_type(content_type), TEXT)


register_format(TEXT)
register_format(OPENMETRICS)
