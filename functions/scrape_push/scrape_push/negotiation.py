"""Content negotiation of a scrape: what a job asks its targets for, and how an answer is read.

A job's ``scrape_protocols`` become the ``Accept`` header exactly as Prometheus 3.x builds it
(``scrape.go acceptHeader``): the protocols' media types in order with falling q-values, the
1.0.0 text formats carrying the ``escaping`` the job asks for, then ``*/*``.
``enable_compression: false`` asks for ``Accept-Encoding: identity`` instead of ``gzip``.

The answer's ``Content-Type`` picks the format by its media type alone (every parameter is
ignored, as Prometheus does). A blank, unparsable or unknown one falls back to
``fallback_scrape_protocol`` when the job sets it; without it scrape-push reads the body as text
0.0.4, as Prometheus 2.42 does (3.x fails such a scrape instead: docs/scrape-configs.md).
A media type is read only when the parse stage registered a format for it (``parse.FORMATS``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from .config.errors import FieldError
from .parse import FORMATS, Histograms

ScrapeProtocol = Literal[
    "PrometheusProto",
    "PrometheusText0.0.4",
    "PrometheusText1.0.0",
    "OpenMetricsText0.0.1",
    "OpenMetricsText1.0.0",
]
"""The protocol names of ``scrape_protocols`` (case-sensitive, as in Prometheus)."""

HEADERS: Final[dict[str, str]] = {
    "PrometheusProto": (
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
    ),
    "PrometheusText0.0.4": "text/plain;version=0.0.4",
    "PrometheusText1.0.0": "text/plain;version=1.0.0",
    "OpenMetricsText0.0.1": "application/openmetrics-text;version=0.0.1",
    "OpenMetricsText1.0.0": "application/openmetrics-text;version=1.0.0",
}
"""Each protocol's entry in ``Accept`` (Prometheus's ``config.ScrapeProtocolsHeaders``)."""

DEFAULT_SCRAPE_PROTOCOLS: Final[tuple[ScrapeProtocol, ...]] = (
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText1.0.0",
    "PrometheusText0.0.4",
)
"""Prometheus 3.x's ``DefaultScrapeProtocols``."""

PROTO_FIRST_SCRAPE_PROTOCOLS: Final[tuple[ScrapeProtocol, ...]] = (
    "PrometheusProto",
    *DEFAULT_SCRAPE_PROTOCOLS,
)
"""Prometheus 3.x's ``DefaultProtoFirstScrapeProtocols``: the default of a job with
``scrape_native_histograms: true`` (native histograms come only in protobuf)."""

_ESCAPED: Final = frozenset({"PrometheusText1.0.0", "OpenMetricsText1.0.0"})
"""The protocols whose ``Accept`` entry carries ``escaping=`` (3.x ``acceptHeader``)."""

ESCAPING: Final = "allow-utf-8"
"""The name escaping asked of targets by default: Prometheus 3.x's for its default
``metric_name_validation_scheme: utf8``; a job's ``metric_name_escaping_scheme`` replaces it
(``underscores`` by default under ``legacy``)."""

TEXT: Final = "text/plain"
OPENMETRICS: Final = "application/openmetrics-text"
PROTOBUF: Final = "application/vnd.google.protobuf"
_RECOGNISED: Final = frozenset({TEXT, OPENMETRICS, PROTOBUF})
"""The media types Prometheus picks a parser for (3.x ``textparse.extractMediaType``)."""

_SEPARATORS: Final = frozenset('()<>@,;:\\"/[]?=')
"""RFC 2045 ``tspecials``: not part of a token (Go's ``mime.isTokenChar``)."""
# A Content-Type is read in runs of one character class each, possessive: linear in the
# target's header whatever it holds (a loop over its characters cost about 20 µs a scrape).
_TOKEN_CHARS: Final = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in _SEPARATORS)
_TOKEN: Final = re.compile(f"[{re.escape(_TOKEN_CHARS)}]++")
_TOKEN_OR_NONE: Final = re.compile(f"[{re.escape(_TOKEN_CHARS)}]*+")
_VALUE: Final = re.compile(f'[{re.escape(_TOKEN_CHARS)}]++|"(?:[^"\\\\]|\\\\.)*+"', re.DOTALL)
"""A parameter's value: a token or a quoted string (a backslash quotes any one character)."""
_SPACE: Final = re.compile(r"\s*+")
MAX_CACHED_CONTENT_TYPES: Final = 64
"""Distinct ``Content-Type`` values whose media type is kept (a scrape read each anew: 7 µs)."""
MAX_CACHED_CONTENT_TYPE_CHARS: Final = 200
"""A longer ``Content-Type`` (a hostile one) is read without being kept."""
_SHOWN_CHARS: Final = 100
"""A Content-Type quoted in an error is cut to this many characters (it is the target's text)."""


class FormatError(Exception):
    """The target answered in a format scrape-push cannot read; the message says which."""


def accept_header(protocols: Sequence[str], escaping: str = ESCAPING) -> str:
    """The ``Accept`` header asking for ``protocols`` in order of preference.

    >>> accept_header(["PrometheusText0.0.4"])
    'text/plain;version=0.0.4;q=0.6,*/*;q=0.5'
    """
    weight = len(HEADERS) + 1
    entries = []
    for protocol in protocols:
        entry = HEADERS[protocol]
        if protocol in _ESCAPED:
            entry += f";escaping={escaping}"
        entries.append(f"{entry};q=0.{weight}")
        weight -= 1
    entries.append(f"*/*;q=0.{weight}")
    return ",".join(entries)


def check_protocols(protocols: Sequence[str]) -> None:
    """Prometheus's rules for a ``scrape_protocols`` list of known names: not empty, no name
    twice."""
    if not protocols:
        raise FieldError("scrape_protocols cannot be empty")
    if len(set(protocols)) < len(protocols):
        raise FieldError(f"duplicated protocol in scrape_protocols, got [{' '.join(protocols)}]")


@dataclass(frozen=True)
class Negotiation:
    """What a job's scrapes ask for and how they read the answer."""

    accept: str
    accept_encoding: str
    fallback: str | None = None
    """The media type of ``fallback_scrape_protocol``, if the job sets one."""
    histograms: Histograms = field(default_factory=Histograms)
    """How native histograms are read (``scrape_native_histograms``,
    ``always_scrape_classic_histograms``)."""

    @property
    def headers(self) -> dict[str, str]:
        """The request's ``Accept`` and ``Accept-Encoding``."""
        return {"Accept": self.accept, "Accept-Encoding": self.accept_encoding}

    def media_type(self, content_type: str | None) -> str:
        """The media type whose format reads an answer of ``content_type``; ``FormatError``
        when that is one scrape-push has no parser for."""
        short = content_type is None or len(content_type) <= MAX_CACHED_CONTENT_TYPE_CHARS
        found = _cached_media_type(content_type) if short else _media_type(content_type)
        chosen = found if found in _RECOGNISED else self.fallback or TEXT
        if chosen not in FORMATS:
            shown = repr((content_type or "")[:_SHOWN_CHARS])
            raise FormatError(f"no parser for {chosen} (Content-Type {shown})")
        return chosen


def negotiation(
    protocols: Sequence[str],
    fallback: str | None = None,
    compression: bool = True,
    escaping: str = ESCAPING,
    histograms: Histograms | None = None,
) -> Negotiation:
    """The negotiation of a job's ``scrape_protocols``, ``fallback_scrape_protocol``,
    ``enable_compression``, ``metric_name_escaping_scheme`` and histogram keys."""
    return Negotiation(
        accept_header(protocols, escaping),
        "gzip" if compression else "identity",
        _media_type(HEADERS[fallback]) if fallback is not None else None,
        histograms or Histograms(),
    )


DEFAULT_NEGOTIATION: Final = negotiation(DEFAULT_SCRAPE_PROTOCOLS)
"""What a job asks for when it sets none of the keys."""


def _media_type(content_type: str | None) -> str | None:
    """The media type of a ``Content-Type`` (lower case), or ``None`` when it is blank or does
    not parse as Go's ``mime.ParseMediaType`` parses it (parameters included)."""
    if not content_type:
        return None
    base, _, params = content_type.partition(";")
    media = base.strip().lower()
    kind, slash, subtype = media.partition("/")
    if not _is_token(kind) or (slash and not _is_token(subtype)):
        return None
    return media if _parameters_parse(params) else None


_cached_media_type = lru_cache(maxsize=MAX_CACHED_CONTENT_TYPES)(_media_type)
"""``_media_type`` of the few ``Content-Type`` values a fleet's targets send, read once each."""


def _is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def _parameters_parse(text: str) -> bool:
    """Whether ``text`` (what follows the first ``;``) is ``key=value`` pairs separated by
    ``;``, each key once, a value a token or a quoted string; a trailing ``;`` is allowed.
    One pass over ``text`` by index (a target's header may be long)."""
    seen: set[str] = set()
    at, end = _skip_space(text, 0), len(text)
    while at < end:
        key_end = _token_end(text, at)
        key = text[at:key_end].lower()
        at = _skip_space(text, key_end)
        if not key or key in seen or at >= end or text[at] != "=":
            return False
        seen.add(key)
        at = _value_end(text, _skip_space(text, at + 1))
        if at < 0:
            return False
        at = _skip_space(text, at)
        if at < end and text[at] != ";":
            return False
        at = _skip_space(text, at + 1)
    return True


def _skip_space(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # matches the empty string


def _token_end(text: str, at: int) -> int:
    return _TOKEN_OR_NONE.match(text, at).end()  # type: ignore[union-attr]  # matches the empty string


def _value_end(text: str, at: int) -> int:
    """Where the value (a token or a quoted string) starting at ``at`` ends; -1: there is none."""
    found = _VALUE.match(text, at)
    return found.end() if found is not None else -1
