"""What a Prometheus family's metadata becomes in OTLP: the unit (UCUM), the metric kind and the
``prometheus.type`` metadata (OpenTelemetry specification, ``compatibility/prometheus_and_openmetrics.md``,
"Metric Metadata" and the per-type sections)."""

from __future__ import annotations

from . import encode

UCUM_UNITS = {
    "days": "d",
    "hours": "h",
    "minutes": "min",
    "seconds": "s",
    "milliseconds": "ms",
    "microseconds": "us",
    "nanoseconds": "ns",
    "bytes": "By",
    "kibibytes": "KiBy",
    "mebibytes": "MiBy",
    "gibibytes": "GiBy",
    "tebibytes": "TiBy",
    "kilobytes": "kBy",
    "megabytes": "MBy",
    "gigabytes": "GBy",
    "terabytes": "TBy",
    "meters": "m",
    "volts": "V",
    "amperes": "A",
    "joules": "J",
    "watts": "W",
    "grams": "g",
    "celsius": "Cel",
    "hertz": "Hz",
    "percent": "%",
    "ratio": "1",
}
"""Unit words the specification maps to UCUM (``ratio`` to ``1`` as its earlier text did)."""

PER_UNITS = {
    "second": "s",
    "minute": "min",
    "hour": "h",
    "day": "d",
    "week": "wk",
    "month": "mo",
    "year": "a",
}
"""The singular time words after ``_per_`` (``bytes_per_second``), in UCUM."""

KINDS = {
    "counter": (encode.SUM, True),
    "gauge": (encode.GAUGE, False),
    "untyped": (encode.GAUGE, False),
    "unknown": (encode.GAUGE, False),
    "info": (encode.SUM, False),
    "stateset": (encode.SUM, False),
    "histogram": (encode.HISTOGRAM, True),
    "summary": (encode.SUMMARY, True),
}
"""Prometheus type -> (OTLP data kind, monotonic): counters are monotonic cumulative sums; info
and stateset non-monotonic sums (their 1s are counts); unknown-typed ones gauges. Gauge
histograms are dropped, as the specification says."""


def ucum(unit: str) -> str:
    """A Prometheus ``# UNIT`` in UCUM: the words above mapped, ``a_per_b`` as ``a/b``, anything
    else unchanged."""
    if unit in UCUM_UNITS:
        return UCUM_UNITS[unit]
    over, per, under = unit.partition("_per_")
    if per and over and under:
        return f"{UCUM_UNITS.get(over, over)}/{PER_UNITS.get(under) or UCUM_UNITS.get(under, under)}"
    return unit


def prometheus_type(declared: str) -> str:
    """The ``prometheus.type`` metadata value: the declared type, ``unknown`` for untyped."""
    return "unknown" if declared == "untyped" else declared
