"""The two text exposition formats, as the rules by which they differ (docs/parser.md, "Formats").

Both are read by the same line parser (``parser.py``); a ``Dialect`` names each point where
OpenMetrics 1.0 is stricter than, or reads differently from, Prometheus text 0.0.4.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..model import MetricType
from . import grammar


@dataclass(frozen=True)
class Dialect:
    """One text format's grammar where it differs from the other's."""

    name: str
    types: frozenset[str]
    """The values a ``# TYPE`` line may hold."""
    default_type: MetricType
    """The type of a sample outside any block of its family."""
    sample: re.Pattern[str]
    """A whole sample line; groups: name, label set, value, timestamp (and exemplar parts)."""
    plain: re.Pattern[str]
    """A block of plain sample lines, parsed in bulk (``grammar.TEXT_PLAIN_LINES``)."""
    braced: re.Pattern[str]
    """A sample line whose metric name is quoted inside the braces (Prometheus 3.x), with the
    groups of ``sample`` (the name's empty)."""
    label_set: re.Pattern[str]
    label_pair: re.Pattern[str]
    quoted_label_set: re.Pattern[str]
    """A label set with quoted names (``"a.b"="1"``, or ``"name"`` for the metric name)."""
    quoted_item: re.Pattern[str]
    """One item of such a set; groups: bare label name, quoted name, value."""
    careful: str
    """Characters whose presence in a chunk sends each of its lines through the careful path
    (Python's ``float()`` strips them, Go's ``ParseFloat`` or the separators refuse them)."""
    lenient_lines: bool
    """Blank lines, lines starting with blanks and plain comments are allowed (and skipped)."""
    ends_with_eof: bool
    """The body must end with a ``# EOF`` line, and nothing after it."""
    exemplars: bool
    single_spaces: bool
    """Tokens are separated by exactly one space."""
    help_quotes: bool
    """``\\"`` is an escape in HELP text."""
    timestamp: Callable[[str], int]
    """A sample's or an exemplar's timestamp text as milliseconds; ``ValueError`` when invalid."""
    comment: Callable[[str, int], grammar.Comment | None]
    """A comment line (starting with ``#``) as a metadata line, ``None`` when it is none."""


_ODD_WHITESPACE: Final = "\r\x0b\x0c\x1c\x1d\x1e\x1f"

TEXT: Final = Dialect(
    name="text 0.0.4",
    types=grammar.TEXT_TYPES,
    default_type="untyped",
    sample=grammar.TEXT_SAMPLE,
    plain=grammar.TEXT_PLAIN_LINES,
    braced=grammar.TEXT_BRACED,
    label_set=grammar.TEXT_BODY,
    label_pair=grammar.TEXT_PAIR,
    quoted_label_set=grammar.QUOTED_TEXT_BODY,
    quoted_item=grammar.QUOTED_TEXT_ITEM,
    careful=_ODD_WHITESPACE,
    lenient_lines=True,
    ends_with_eof=False,
    exemplars=False,
    single_spaces=False,
    help_quotes=False,
    timestamp=grammar.text_timestamp,
    comment=grammar.text_comment,
)

OPENMETRICS: Final = Dialect(
    name="OpenMetrics 1.0",
    types=grammar.OPENMETRICS_TYPES,
    default_type="unknown",
    sample=grammar.OM_SAMPLE,
    plain=grammar.OM_PLAIN_LINES,
    braced=grammar.OM_BRACED,
    label_set=grammar.OM_BODY,
    label_pair=grammar.OM_PAIR,
    quoted_label_set=grammar.QUOTED_OM_BODY,
    quoted_item=grammar.QUOTED_OM_ITEM,
    careful=_ODD_WHITESPACE + "\t",
    lenient_lines=False,
    ends_with_eof=True,
    exemplars=True,
    single_spaces=True,
    help_quotes=True,
    timestamp=grammar.openmetrics_timestamp,
    comment=grammar.openmetrics_comment,
)
