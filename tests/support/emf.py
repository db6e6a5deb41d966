"""A strict checker for Embedded Metric Format documents (CloudWatch's EMF specification)."""

from __future__ import annotations

import json
import math
from typing import Any

from tests.support.strict_cloudwatch import UNITS

MAX_METRICS = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES = 100
MAX_BYTES = 256 * 1024
MAX_NAME = 255


def emf_lines(text: str) -> list[dict[str, Any]]:
    """The EMF documents among stdout lines (other JSON log lines are skipped)."""
    docs = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


def violations(line: str) -> list[str]:
    """Everything wrong with one stdout line as an EMF document."""
    out: list[str] = []
    if len(line.encode()) > MAX_BYTES:
        out.append(f"document of {len(line.encode())} bytes")
    try:
        doc = json.loads(line, parse_constant=lambda c: out.append(f"non-JSON number {c}"))
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("_aws"), dict):
        return ["no _aws object"]
    meta = doc["_aws"]
    if not isinstance(meta.get("Timestamp"), int):
        out.append("Timestamp missing or not an integer (ms)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*out, "CloudWatchMetrics missing"]
    for directive in directives:
        out.extend(_directive(doc, directive))
    return out


def _directive(doc: dict[str, Any], directive: dict[str, Any]) -> list[str]:
    out: list[str] = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= MAX_NAME:
        out.append(f"bad Namespace {namespace!r}")
    sets = directive.get("Dimensions")
    if not isinstance(sets, list) or not sets:
        out.append("Dimensions must be a non-empty array of dimension sets")
        sets = []
    for dims in sets:
        if len(dims) > MAX_DIMENSIONS_PER_SET:
            out.append(f"dimension set of {len(dims)} keys")
        for name in dims:
            if not isinstance(doc.get(name), str):
                out.append(f"dimension {name!r} is not a string member of the root")
    metrics = directive.get("Metrics", [])
    if len(metrics) > MAX_METRICS:
        out.append(f"{len(metrics)} metrics in one directive")
    for metric in metrics:
        out.extend(_metric(doc, metric))
    return out


def _metric(doc: dict[str, Any], metric: dict[str, Any]) -> list[str]:
    out: list[str] = []
    name = metric.get("Name")
    value = doc.get(name) if isinstance(name, str) else None
    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_VALUES:
        out.append(f"metric {name!r} has {len(values)} values")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            out.append(f"metric {name!r} value {v!r} is not a finite number")
    if "Unit" in metric and metric["Unit"] not in UNITS:
        out.append(f"metric {name!r} unit {metric['Unit']!r}")
    if metric.get("StorageResolution", 60) not in (1, 60):
        out.append(f"metric {name!r} StorageResolution {metric['StorageResolution']}")
    return out
