"""Metric and label names: Prometheus's legacy character set, and its escaping schemes.

Prometheus 3.x takes UTF-8 names (``metric_name_validation_scheme: utf8``); a system that
takes only the legacy names (``[a-zA-Z_:][a-zA-Z0-9_:]*`` for metrics, no ``:`` in labels)
gets them escaped by one of ``metric_name_escaping_scheme``'s schemes, as prometheus/common's
``model.EscapeName`` writes them (``underscores``, ``dots``, ``values``; ``allow-utf-8`` leaves
them as they are). A name that is already legacy-valid is left as it is by every scheme here:
``dots`` in prometheus/common rewrites those too (``a_b`` -> ``a__b``), which would rename
every series of a sink for the sake of the few that need it.
"""

from __future__ import annotations

import re
from typing import Final

ALLOW_UTF8: Final = "allow-utf-8"

LEGACY_METRIC_NAME: Final = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*+")
LEGACY_LABEL_NAME: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*+")

_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGITS: Final = frozenset("0123456789")


def is_legacy(name: str, label: bool = False) -> bool:
    """Whether ``name`` is in the legacy character set (of label names with ``label``)."""
    return (LEGACY_LABEL_NAME if label else LEGACY_METRIC_NAME).fullmatch(name) is not None


def _valid(char: str, index: int, label: bool) -> bool:
    return char in _LETTERS or (char == ":" and not label) or (char in _DIGITS and index > 0)


def escape_name(name: str, scheme: str, label: bool = False) -> str:
    """``name`` escaped by ``scheme`` when it is not legacy-valid (``model.EscapeName``).

    >>> escape_name("my.dotted.name", "underscores"), escape_name("my.dotted.name", "dots")
    ('my_dotted_name', 'my_dot_dotted_dot_name')
    >>> escape_name("my.dotted.name", "values"), escape_name("a_b", "dots")
    ('U__my_2e_dotted_2e_name', 'a_b')
    """
    if scheme == ALLOW_UTF8 or is_legacy(name, label) or not name:
        return name
    if scheme == "underscores":
        return "".join(c if _valid(c, i, label) else "_" for i, c in enumerate(name))
    if scheme == "dots":
        return "".join(
            "__" if c == "_" else "_dot_" if c == "." else c if _valid(c, i, label) else "__"
            for i, c in enumerate(name)
        )
    return "U__" + "".join(
        "__" if c == "_" else c if _valid(c, i, label) else f"_{_code_point(c):x}_"
        for i, c in enumerate(name)
    )


def _code_point(char: str) -> int:
    """A character's code point; a byte that was not UTF-8 is U+FFFD, as Go reads it."""
    point = ord(char)
    return 0xFFFD if 0xD800 <= point <= 0xDFFF else point
