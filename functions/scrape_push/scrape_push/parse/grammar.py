"""The lexical rules of both text formats, as Prometheus 2.42's ``textparse`` applies them.

Float and timestamp spellings follow Go's ``strconv`` as Prometheus calls it (no hex floats, no
``_`` separators, no signed NaN, overflow is an error); Python's ``float()`` is laxer, so every
value either passes ``FLOAT`` or is checked in bulk for the few spellings where they disagree.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from itertools import compress, count
from operator import not_
from typing import Final

from ..model import MetricType
from .errors import ParseError

TEXT_TYPES: Final = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
OPENMETRICS_TYPES: Final = frozenset(
    {"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown"}
)

SUFFIXES: Final[dict[MetricType, tuple[str, ...]]] = {
    "counter": ("", "_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "untyped": ("",),
    "unknown": ("",),
}
"""Sample names that belong to a family of each type (family name + suffix)."""

# Every pattern below runs on untrusted input and must take linear time (docs/parser.md): each
# unbounded repeat is possessive (``*+``, ``++``), so it never gives back what it matched, and
# Python's engine then also keeps no per-iteration state (a greedy group repeat costs ~60 bytes
# of stack per iteration). What is left to backtrack is a fixed number of ``?``/``|`` choices
# per pattern, each retried at most once per token. tests/unit/parse/test_linear.py checks both.

METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*+")

FLOAT: Final = re.compile(
    r"[+-]?+(?:(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?+)"
    r"|[nN][aA][nN]"
)
"""Go's ``strconv.ParseFloat`` decimal syntax minus what Prometheus rejects (hex, ``_``)."""

_QUOTED = r'[^"\\\n]*+(?:\\.[^"\\\n]*+)*+'
"""The content of a quoted string: any character but a quote, backslash or newline, or an escape."""
_LVALUE = rf'"({_QUOTED})"'
_TEXT_QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
"""Text 0.0.4 allows a raw newline inside quotes (Prometheus 2.42's lexer): a line holds one only
when the parser joined the lines of such a value (``parser._joined``)."""
_TEXT_LVALUE = rf'"({_TEXT_QUOTED})"'
_LNAME = r"[a-zA-Z_][a-zA-Z0-9_]*+"

OM_BODY: Final = re.compile(rf"(?:{_LNAME}={_LVALUE}(?:,(?!$)|$))*+")
"""An OpenMetrics label set between the braces: ``a="1",b="2"``; Prometheus 2.42's parser wants a
label name after every comma, so a trailing comma is refused (text 0.0.4 allows one)."""
OM_PAIR: Final = re.compile(rf"({_LNAME})={_LVALUE}")

TEXT_BODY: Final = re.compile(rf"[ \t]*+(?:{_LNAME}[ \t]*+=[ \t]*+{_TEXT_LVALUE}[ \t]*+(?:,[ \t]*+)?+)*+")
"""A text-format label set: whitespace between tokens, commas optional (as Prometheus's lexer).
Blanks, then an optional comma, then blanks: one way only to split them (issue 12)."""
TEXT_PAIR: Final = re.compile(rf"({_LNAME})[ \t]*+=[ \t]*+{_TEXT_LVALUE}")

# Prometheus 3.x's UTF-8 names (docs/parser.md, "UTF-8 names"): inside the braces, a quoted
# string followed by ``=`` is a label name, a quoted string alone the metric name.
_QITEM_OM = rf'(?:{_LNAME}={_LVALUE}|"{_QUOTED}"(?:={_LVALUE})?+)'
QUOTED_OM_BODY: Final = re.compile(rf"(?:{_QITEM_OM}(?:,(?!$)|$))*+")
QUOTED_OM_ITEM: Final = re.compile(rf'({_LNAME})={_LVALUE}|"({_QUOTED})"(?:={_LVALUE})?+')
_QITEM_TEXT = (
    rf'(?:{_LNAME}[ \t]*+=[ \t]*+{_TEXT_LVALUE}|"{_TEXT_QUOTED}"(?:[ \t]*+=[ \t]*+{_TEXT_LVALUE})?+)'
)
QUOTED_TEXT_BODY: Final = re.compile(rf"[ \t]*+(?:{_QITEM_TEXT}[ \t]*+(?:,[ \t]*+)?+)*+")
QUOTED_TEXT_ITEM: Final = re.compile(
    rf'({_LNAME})[ \t]*+=[ \t]*+{_TEXT_LVALUE}|"({_TEXT_QUOTED})"(?:[ \t]*+=[ \t]*+{_TEXT_LVALUE})?+'
)
"""One item of a label set with quoted names; groups: bare label name, quoted name, value (a
quoted name without a value is the metric name)."""

_OM_SET = r'(?:[^"}]++|"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+")*+'
OM_SAMPLE: Final = re.compile(
    rf"([a-zA-Z_:][a-zA-Z0-9_:]*+)(?:\{{({_OM_SET})\}})? ([^ ]++)(?: ([^ ]++))?"
    rf"(?: # \{{({_OM_SET})\}} ([^ ]++)(?: ([^ ]++))?)?"
)
"""``name{labels} value [timestamp] [# {labels} value [timestamp]]`` with single spaces."""
OM_BRACED: Final = re.compile(
    rf"()\{{({_OM_SET})\}} ([^ ]++)(?: ([^ ]++))?"
    rf"(?: # \{{({_OM_SET})\}} ([^ ]++)(?: ([^ ]++))?)?"
)
"""A line whose metric name is quoted in its braces (``{"a.b",x="1"} 1``); group 1 is empty."""

_TEXT_SET = r'(?:[^"}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+'
TEXT_SAMPLE: Final = re.compile(
    rf"([a-zA-Z_:][a-zA-Z0-9_:]*+)(?:[ \t]*+\{{({_TEXT_SET})\}}[ \t]*+|[ \t]++)"
    r"([^{ \t]++)(?:[ \t]++([^ \t]++))?[ \t]*+"
)
"""``name [{labels}] value [timestamp]`` with any spaces or tabs between tokens."""
TEXT_BRACED: Final = re.compile(rf"()\{{({_TEXT_SET})\}}[ \t]*+([^{{ \t]++)(?:[ \t]++([^ \t]++))?[ \t]*+")
"""A line whose metric name is quoted in its braces; group 1 is empty."""

_PLAIN_LINES = (
    r"(?:[a-zA-Z_:][a-zA-Z0-9_:]*+"
    rf'(?:\{{(?:{_LNAME}="[^"\\\n]*+"(?:,(?=[a-zA-Z_])|TRAILING(?=\}})))*+\}})?+'
    r" [^ \n]++(?:\n|$))*+"
)
TEXT_PLAIN_LINES: Final = re.compile(_PLAIN_LINES.replace("TRAILING", ",?+"))
"""A block of the most common sample lines, ``name{a="1",b="2"} value``, with no escapes; such
a block is parsed in bulk."""
OM_PLAIN_LINES: Final = re.compile(_PLAIN_LINES.replace("TRAILING", ""))
"""The same in OpenMetrics, which has no trailing comma (``OM_BODY``)."""
PLAIN_VALUE: Final = re.compile(r'="[^"]++"')
"""A non-empty label value without escapes, replaced by nothing to get a label set's shape."""

_ESCAPE: Final = re.compile(r"\\(.)")
TEXT_META: Final = re.compile(r"#[ \t]++(HELP|TYPE)[ \t]++")
"""The start of a text-format ``# HELP`` or ``# TYPE`` line (any other comment is ignored)."""


def _mark(text: str, quotes: bool) -> str:
    """``text`` with its escapes ``\\\\`` and ``\\n`` turned into the tokens ``NEWLINE b`` and
    ``NEWLINE n`` and, with ``quotes``, ``\\"`` decoded; any other escape is left as it is.

    Escapes are read left to right, so a run of backslashes pairs up from its start, as
    ``str.replace`` does. A line holds no newline, so every newline in the result starts one of
    the tokens (``_unmark``). Each step is one C-level pass making one string of the same size.
    """
    marked = text.replace("\\\\", "\nb").replace("\\n", "\nn")
    return marked.replace('\\"', '"') if quotes else marked


def _unmark(marked: str) -> str:
    return marked.replace("\nb", "\\").replace("\nn", "\n")


def unescape(value: str, strict: bool = False) -> str:
    """Decode ``\\\\``, ``\\"`` and ``\\n`` in a label value or a quoted name, in one pass
    from the left as Prometheus's replacer does; any other escape is kept verbatim (``\\q``
    stays two characters), or with ``strict`` an error."""
    if "\\" not in value:
        return value
    marked = _mark(value, quotes=True)
    if strict and "\\" in marked:
        bad = next(m.group() for m in _ESCAPE.finditer(value) if m.group(1) not in '\\"n')
        raise ValueError(f"invalid escape sequence {bad!r} in label value")
    return _unmark(marked)


def unescape_help(text: str, quotes: bool) -> str:
    """HELP text as Prometheus decodes it: known escapes decoded, others kept verbatim
    (``\\"`` is one only with ``quotes``, as in OpenMetrics)."""
    if "\\" not in text:
        return text
    return _unmark(_mark(text, quotes=quotes))


NAN: Final[float] = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
"""NaN as Prometheus parses it (Go's ``math.NaN()``, bits ``0x7ff8000000000001``; Python's own
is ``0x7ff8000000000000``): a receiver stores the bits it is sent."""


def parse_float(text: str) -> float:
    """A sample value as Prometheus parses it; ``ValueError`` when it would refuse it."""
    if FLOAT.fullmatch(text) is None:
        raise ValueError(f"invalid float {text[:40]!r}")
    value = float(text)
    if math.isinf(value) and "n" not in text and "N" not in text:
        raise ValueError(f"float {text[:40]!r} out of range")
    return NAN if math.isnan(value) else value


def check_floats(texts: tuple[str, ...] | list[str], values: list[float]) -> int:
    """Index of the first of ``texts`` that Prometheus would refuse although ``float()`` took it,
    else -1; each NaN of ``values`` becomes Prometheus's (``NAN``). Cheap when all are plain: the
    slow check runs only for the rare spellings: for every text when one has a ``_`` or is not
    ASCII, else for the values that are not finite: an ASCII text without ``_`` that
    ``float()`` reads as a finite number is one Go's ``ParseFloat`` reads alike, but for the
    tabs Python strips around it, which text 0.0.4 allows there)."""
    joined = "".join(texts)
    suspects: Iterable[int]
    if "_" in joined or not joined.isascii():
        suspects = range(len(texts))
    else:
        total = sum(values)
        if total - total == 0.0:
            return -1
        suspects = compress(count(), map(not_, map(math.isfinite, values)))
    for index in suspects:
        try:
            values[index] = parse_float(texts[index])
        except ValueError:
            return index
    return -1


TIMESTAMP_LIMIT: Final = 1 << 63
"""Timestamps are int64 milliseconds (Prometheus's ``model/timestamp``): ``-2**63 <= ms < 2**63``."""

OUT_OF_RANGE: Final = TIMESTAMP_LIMIT
"""The timestamp of an OpenMetrics sample whose time is beyond int64 milliseconds (no int64 is
this value): Prometheus 2.42 keeps the scrape and stores no such sample (``OpenMetrics``
timestamps are converted unchecked, and the TSDB refuses the result as out of bounds)."""


class TimestampOutOfRange(ValueError):
    """A timestamp that parses but is beyond int64 milliseconds."""


def text_timestamp(text: str) -> int:
    """Text 0.0.4: integer milliseconds, no sign. Out of int64 is an error, as Go's ``ParseInt``
    makes it."""
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"invalid timestamp {text[:40]!r}: expected integer milliseconds")
    # counted first: int() refuses more than 4300 digits with an error of its own
    value = int(text) if len(text.lstrip("0")) <= 19 else TIMESTAMP_LIMIT
    if value >= TIMESTAMP_LIMIT:
        raise ValueError(f"timestamp {text[:40]!r} out of range")
    return value


def openmetrics_timestamp(text: str) -> int:
    """OpenMetrics: seconds, truncated to milliseconds; out of int64 is an error. Prometheus's
    OpenMetrics parser converts ``seconds * 1000`` to int64 unchecked (what that gives is up to
    the CPU); refusing it is the only result that does not depend on it."""
    seconds = parse_float(text)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"invalid timestamp {text[:40]!r}")
    milliseconds = seconds * 1000
    if not -TIMESTAMP_LIMIT <= milliseconds < TIMESTAMP_LIMIT:
        raise TimestampOutOfRange(f"timestamp {text[:40]!r} out of range")
    return int(milliseconds)


_COMMENT_NAME: Final = re.compile(rf'[a-zA-Z_:][a-zA-Z0-9_:]*+|"({_QUOTED})"')
"""The metric name of a ``# HELP``/``# TYPE``/``# UNIT`` line: bare, or quoted (Prometheus 3.x)."""


def _comment_name(found: re.Match[str]) -> str:
    quoted = found.group(1)
    return found.group() if quoted is None else unescape(quoted)


Comment = tuple[str, str, str]
"""A metadata comment line: its kind (``HELP``, ``TYPE``, ``UNIT``), metric name and text."""


_SKIPPED_NULS: Final = re.compile(
    "(#[ \t]++)(H\0*+E\0*+L\0*+P|T\0*+Y\0*+P\0*+E|U\0*+N\0*+I\0*+T)(\0*+(?:[ \t]\0*+)++)"
)
"""The start of a metadata line with the NUL bytes Prometheus 2.42's lexer skips there: it
skips them while it looks one byte ahead in a comment, so inside the keyword and the blanks
after it (``# HELP \0a x`` is ``# HELP a x``)."""

_CLOSING_NULS: Final = re.compile(f'("{_TEXT_QUOTED}")(\0*+)')
"""A quoted value and the NUL bytes right after it."""


def lexed_nuls(line: str) -> str:
    """A line holding NUL bytes as Prometheus 2.42's lexer reads it, where it skips them while
    it looks one byte ahead (still in the state of the token it ends): inside a metadata line's
    keyword and the blanks after it, which it drops; right after a label value's closing quote,
    where the value takes them as its end, one byte late (``a{x="1"\0} 1`` has ``x`` = ``1"``;
    with two NULs ``1"\0``). Off the hot path: only for lines that hold one."""
    if line.startswith("#"):
        found = _SKIPPED_NULS.match(line)
        if found is None:
            return line
        head, keyword, blanks = found.groups()
        return head + keyword.replace("\0", "") + blanks.replace("\0", "") + line[found.end() :]
    return _CLOSING_NULS.sub(_value_with_nuls, line)


def _value_with_nuls(found: re.Match[str]) -> str:
    value, nuls = found.groups()
    return value if not nuls else f'{value[:-1]}\\"{nuls[1:]}"'


def text_comment(line: str, number: int) -> Comment | None:
    """A text 0.0.4 ``# HELP``/``# TYPE`` line (line ``number``); ``None`` for any other comment."""
    match = TEXT_META.match(line)
    if match is None:
        return None
    kind = match.group(1)
    rest = line[match.end() :]
    found = _COMMENT_NAME.match(rest)
    if found is None:
        raise ParseError(f"expected metric name after {kind}", number)
    if rest[found.end() : found.end() + 1] == "\0":  # 2.42's lexer refuses it there
        raise ParseError(f"NUL byte after the metric name of {kind}", number)
    return kind, _comment_name(found), rest[found.end() + 1 :]


def openmetrics_comment(line: str, number: int) -> Comment:
    """An OpenMetrics comment line, which may only be ``# HELP``, ``# TYPE`` or ``# UNIT`` here
    (the final ``# EOF`` was cut off the body before the lines were read)."""
    if line == "# EOF":
        raise ParseError("unexpected data after # EOF", number + 1)
    kind = line[2:6]
    if not line.startswith("# ") or kind not in ("HELP", "TYPE", "UNIT") or line[6:7] != " ":
        raise ParseError("invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF", number)
    rest = line[7:]
    found = _COMMENT_NAME.match(rest)
    if found is None or rest[found.end() : found.end() + 1] not in ("", " "):
        raise ParseError(f"invalid metric name {rest.partition(' ')[0][:80]!r} after {kind}", number)
    name, separator, text = _comment_name(found), rest[found.end() : found.end() + 1], rest[found.end() + 1 :]
    if not separator:
        raise ParseError(f"expected a space and text after the metric name in {kind}", number)
    return kind, name, text
