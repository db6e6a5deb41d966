"""How Prometheus's discoverers write their ``__meta_*`` labels, shared by the mechanisms here."""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import LabelSet

SEPARATOR = ","
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    """A tag or attribute name as a label name part: every character outside ``[a-zA-Z0-9_]``
    becomes ``_`` (Prometheus's ``strutil.SanitizeLabelName``; the ``__meta_`` prefix makes a
    leading digit harmless)."""
    return _INVALID_LABEL_CHARS.sub("_", name)


def joined(values: Iterable[str]) -> str:
    """A list label: values joined by commas and wrapped in them (``,a,b,``), so that a regex
    such as ``.*,a,.*`` matches one value."""
    return SEPARATOR + SEPARATOR.join(values) + SEPARATOR


def join_host_port(host: str, port: int) -> str:
    """Go's ``net.JoinHostPort``: IPv6 literals go in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def without_empty(labels: LabelSet) -> LabelSet:
    """Prometheus label sets carry no empty values: an absent field and an empty one are alike."""
    return {name: value for name, value in labels.items() if value}
