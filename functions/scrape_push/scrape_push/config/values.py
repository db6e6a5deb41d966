"""Parsers for Prometheus's scalar configuration formats (durations, sizes, label names)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .errors import FieldError

_DURATION = re.compile(
    r"^(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$"
)
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
MAX_DURATION_MS = (2**63 - 1) // 1_000_000
"""Prometheus durations are Go ``time.Duration`` values (int64 nanoseconds): about 292 years."""
_MAX_SCALAR_TEXT = 64
"""Longer text is no valid duration or size (and would make int() refuse over 4,300 digits)."""
MAX_SIZE = 2**63 - 1
"""Prometheus sizes (``units.Base2Bytes``) are int64 byte counts."""

_PROXY_URL = re.compile(r"^https?://[^\s/]+(/.*)?$")
_SIZE = re.compile(r"^([0-9]+)(B|KB|MB|GB|TB|PB|EB)$")
_SIZE_UNITS = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5, "EB": 6}

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
"""Prometheus's label name rule (the classic, non-UTF-8 one)."""


def parse_duration(value: object) -> float:
    """Parse a Prometheus duration such as ``"1m30s"`` or ``"500ms"`` into seconds.

    >>> parse_duration("1m30s")
    90.0
    """
    if not isinstance(value, str):
        raise FieldError(f"expected a duration such as '10s', got {type(value).__name__}")
    if value == "0":
        return 0.0
    match = _DURATION.fullmatch(value) if len(value) <= _MAX_SCALAR_TEXT else None
    if value == "" or match is None:
        raise FieldError(f"not a valid duration string: {value[:40]!r} (e.g. '10s', '1m30s', '500ms')")
    ms = sum(int(g) * unit for g, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True) if g)
    if ms > MAX_DURATION_MS:
        raise FieldError(f"duration out of range: {value[:40]!r}")
    return ms / 1000


def format_duration(seconds: float) -> str:
    """Render seconds as a Prometheus duration (largest units first, as Prometheus prints
    them: ``1w6d``), the inverse of ``parse_duration``."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _DURATION_UNITS_MS, strict=True):
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def parse_size(value: object) -> int:
    """Parse a Prometheus byte size such as ``"10MB"`` (base 1024) into bytes; ``0`` means none."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise FieldError("must not be negative")
        if value > MAX_SIZE:
            raise FieldError("size out of range")
        return value
    if not isinstance(value, str):
        raise FieldError(f"expected a size such as '10MB', got {type(value).__name__}")
    match = _SIZE.fullmatch(value) if len(value) <= _MAX_SCALAR_TEXT else None
    if match is None:
        raise FieldError(f"not a valid size: {value[:40]!r} (e.g. '512KB', '10MB')")
    multiplier: int = 1024 ** _SIZE_UNITS[match.group(2)]
    size = int(match.group(1)) * multiplier
    if size > MAX_SIZE:
        raise FieldError(f"size out of range: {value[:40]!r}")
    return size


def check_label_name(name: str) -> None:
    """Reject a label name Prometheus would reject."""
    if not LABEL_NAME.fullmatch(name):
        raise FieldError(f"invalid label name {name!r}")


def format_size(size: object) -> str:
    """Render bytes in the largest exact Prometheus unit, the inverse of ``parse_size``."""
    if not isinstance(size, int):
        return str(size)
    for unit, power in sorted(_SIZE_UNITS.items(), key=lambda item: -item[1]):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{unit}"
    return "0B"


def parse_proxy_url(value: object) -> str:
    """An ``http://`` or ``https://`` proxy URL; it may carry ``user:password@``."""
    if not isinstance(value, str) or not _PROXY_URL.fullmatch(value):
        raise FieldError("must be an http:// or https:// URL")
    return value


def parse_http_url(value: object) -> str:
    """An ``http://`` or ``https://`` URL with a host and no ``user:password@`` (credentials
    have keys of their own, which keep them out of logs)."""
    if not isinstance(value, str):
        raise FieldError(f"expected a URL string, got {type(value).__name__}")
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed port or IPv6 literal
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise FieldError("must be an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise FieldError("must not hold credentials (user:password@)")
    return value


def format_proxy_url(value: object) -> str:
    """A proxy URL as ``show`` prints it: any password masked."""
    text = str(value)
    scheme, sep, rest = text.partition("://")
    userinfo, at, host = rest.partition("@")
    if not at:
        return text
    user = userinfo.partition(":")[0]
    return f"{scheme}{sep}{user}:<secret>@{host}"


JSON_SCHEMAS: dict[object, dict[str, object]] = {
    parse_duration: {
        "type": "string",
        "pattern": "^(?!$)" + _DURATION.pattern[1:] + "|^0$",
        "description": "a Prometheus duration such as 10s, 1m30s or 500ms",
    },
    parse_proxy_url: {"type": "string", "pattern": _PROXY_URL.pattern, "description": "http(s) proxy URL"},
    parse_http_url: {"type": "string", "pattern": "^https?://", "description": "an http(s) URL"},
    parse_size: {
        "anyOf": [{"type": "string", "pattern": _SIZE.pattern}, {"type": "integer", "minimum": 0}],
        "description": "a byte size such as 512KB or 10MB (base 1024)",
    },
}
"""JSON Schema of the values each field parser accepts (used by ``schema.json_schema``)."""

FORMATTERS: dict[object, object] = {
    parse_duration: format_duration,
    parse_size: format_size,
    parse_proxy_url: format_proxy_url,
}
"""How a parsed value is written back (used to print the effective configuration)."""
