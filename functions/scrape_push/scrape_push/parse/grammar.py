"""The lexical rules of both text formats, as Prometheus 2.42's ``textparse`` applies them.

Float and timestamp spellings follow Go's ``strconv`` as Prometheus calls it (no hex floats, no
``_`` separators, no signed NaN, overflow is an error); Python's ``float()`` is laxer, so every
value either passes ``FLOAT`` or is checked in bulk for the few spellings where they disagree.
"""

from __future__ import annotations

import math
import re
from typing import Final

from ..model import MetricType

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

METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

FLOAT: Final = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    r"|[nN][aA][nN]"
)
"""Go's ``strconv.ParseFloat`` decimal syntax minus what Prometheus rejects (hex, ``_``)."""

_LVALUE = r'"((?:[^"\\\n]|\\.)*)"'

OM_BODY: Final = re.compile(rf"(?:[a-zA-Z_][a-zA-Z0-9_]*={_LVALUE}(?:,(?!$)|,?$))*")
"""An OpenMetrics label set between the braces: ``a="1",b="2"``, a trailing comma allowed."""
OM_PAIR: Final = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)={_LVALUE}")

TEXT_BODY: Final = re.compile(rf"[ \t]*(?:[a-zA-Z_][a-zA-Z0-9_]*[ \t]*=[ \t]*{_LVALUE}[ \t]*,?[ \t]*)*")
"""A text-format label set: whitespace between tokens, commas optional (as Prometheus's lexer)."""
TEXT_PAIR: Final = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*{_LVALUE}")

OM_SAMPLE: Final = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(" + r'(?:[^"}]|"(?:[^"\\\n]|\\.)*")*' + r")\})? ([^ ]+)(?: ([^ ]+))?"
    r"(?: # \{(" + r'(?:[^"}]|"(?:[^"\\\n]|\\.)*")*' + r")\} ([^ ]+)(?: ([^ ]+))?)?"
)
"""``name{labels} value [timestamp] [# {labels} value [timestamp]]`` with single spaces."""

TEXT_SAMPLE: Final = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]*\{(" + r'(?:[^"}]|"(?:[^"\\]|\\.)*")*' + r")\}[ \t]*|[ \t]+)"
    r"([^{ \t]+)(?:[ \t]+([^ \t]+))?[ \t]*"
)
"""``name [{labels}] value [timestamp]`` with any spaces or tabs between tokens."""

PLAIN_LINES: Final = re.compile(
    r"(?:[a-zA-Z_:][a-zA-Z0-9_:]*"
    r'(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"(?:,(?=[a-zA-Z_])|,?(?=\})))*\})?'
    r" [^ \n]+(?:\n|$))*"
)
"""A block of the most common sample lines, ``name{a="1",b="2"} value``, with no escapes; such
a block is parsed in bulk."""
PLAIN_VALUE: Final = re.compile(r'="[^"]+"')
"""A non-empty label value without escapes, replaced by nothing to get a label set's shape."""

_ESCAPE: Final = re.compile(r"\\(.)")
_UNESCAPE: Final = {"\\": "\\", '"': '"', "n": "\n"}
_HELP_TEXT: Final = re.compile(r"\\([\\n])")


def unescape(value: str) -> str:
    """Decode ``\\\\``, ``\\"`` and ``\\n`` in a label value; any other escape is an error."""

    def one(match: re.Match[str]) -> str:
        found = _UNESCAPE.get(match.group(1))
        if found is None:
            raise ValueError(f"invalid escape sequence {match.group(0)!r} in label value")
        return found

    return _ESCAPE.sub(one, value)


def unescape_help(text: str, openmetrics: bool) -> str:
    """HELP text as Prometheus decodes it: known escapes decoded, others kept verbatim."""
    if "\\" not in text:
        return text
    if openmetrics:
        return _ESCAPE.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(0)), text)
    return _HELP_TEXT.sub(lambda m: "\\" if m.group(1) == "\\" else "\n", text)


def parse_float(text: str) -> float:
    """A sample value as Prometheus parses it; ``ValueError`` when it would refuse it."""
    if FLOAT.fullmatch(text) is None:
        raise ValueError(f"invalid float {text[:40]!r}")
    value = float(text)
    if math.isinf(value) and "n" not in text and "N" not in text:
        raise ValueError(f"float {text[:40]!r} out of range")
    return value


def check_floats(texts: tuple[str, ...] | list[str], values: list[float]) -> int:
    """Index of the first of ``texts`` that Prometheus would refuse although ``float()`` took it,
    else -1. Cheap when all are plain: the slow check runs only for the rare spellings."""
    joined = "".join(texts)
    if "_" in joined or not joined.isascii():
        suspects = range(len(texts))
    else:
        total = sum(values)
        if total - total == 0.0:
            return -1
        suspects = range(len(texts))
    for index in suspects:
        try:
            parse_float(texts[index])
        except ValueError:
            return index
    return -1


def parse_timestamp(text: str, openmetrics: bool) -> int:
    """Milliseconds: text format gives integer ms; OpenMetrics gives seconds, truncated to ms."""
    if openmetrics:
        seconds = parse_float(text)
        if math.isnan(seconds) or math.isinf(seconds):
            raise ValueError(f"invalid timestamp {text[:40]!r}")
        return int(seconds * 1000)
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"invalid timestamp {text[:40]!r}: expected integer milliseconds")
    value = int(text)
    if value >= 1 << 63:
        raise ValueError(f"timestamp {text[:40]!r} out of range")
    return value
