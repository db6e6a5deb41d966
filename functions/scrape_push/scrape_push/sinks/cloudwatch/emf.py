"""Embedded Metric Format: the same datums as JSON log lines on stdout, for no API calls.

In Lambda, a line on stdout that is an EMF document becomes metrics when CloudWatch Logs
ingests it. Datums sharing namespace, timestamp and dimensions share a document; values of the
same metric in one document (rollups of several series) become one array. Each document holds
at most ``EMF_MAX_METRICS_PER_DOCUMENT`` metrics and each array at most
``EMF_MAX_VALUES_PER_METRIC`` values; NaN and infinities never get this far (``to_datums``
drops them).

EMF has no counts: a distribution is written as its values repeated by their counts. When a
distribution holds more than ``EMF_MAX_VALUES_PER_METRIC`` observations its counts are scaled
down to that many, in proportion (largest remainder), which keeps the percentiles but not
``SampleCount``/``Sum`` (counted as ``adjusted: emf_distribution_scaled``).
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .convert import Datum
from .limits import EMF_MAX_DIMENSIONS_PER_SET, EMF_MAX_METRICS_PER_DOCUMENT, EMF_MAX_VALUES_PER_METRIC

_stdout_lock = threading.Lock()


def write_stdout(line: str) -> None:
    """Write one document as one line (whole, even with other threads logging)."""
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@dataclass
class _Metric:
    unit: str | None
    resolution: int
    values: list[float] = field(default_factory=list)


@dataclass
class EmfResult:
    """The documents to write, and how the samples they carry were accounted."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    sent: int = 0


def expand(
    values: Sequence[float], counts: Sequence[float], limit: int = EMF_MAX_VALUES_PER_METRIC
) -> list[float]:
    """A distribution as repeated values, scaled down to at most ``limit`` in proportion.

    >>> expand([1.0, 2.0], [2, 1])
    [1.0, 1.0, 2.0]
    >>> len(expand([1.0, 2.0], [300, 100]))
    100
    """
    total = sum(counts)
    if total <= limit and all(float(c).is_integer() for c in counts):
        return [v for v, c in zip(values, counts, strict=True) for _ in range(int(c))]
    shares = [c * limit / total for c in counts]
    whole = [math.floor(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: whole[i] - shares[i])
    for i in order[: limit - sum(whole)]:
        whole[i] += 1
    return [v for v, c in zip(values, whole, strict=True) for _ in range(c)]


def documents(datums: Sequence[Datum]) -> EmfResult:
    """EMF documents for ``datums``, within the specification's limits."""
    result = EmfResult()
    groups: dict[tuple[str, int, tuple[tuple[str, str], ...]], dict[str, _Metric]] = {}
    for datum in datums:
        payload = datum.payload
        dims = tuple((d["Name"], d["Value"]) for d in payload.get("Dimensions", ()))[
            :EMF_MAX_DIMENSIONS_PER_SET
        ]
        name = payload["MetricName"]
        if name == "_aws" or any(name == d for d, _ in dims):
            result.dropped["emf_name_conflict"] += datum.weight
            continue
        ts = int(payload["Timestamp"].timestamp() * 1000)
        metrics = groups.setdefault((datum.namespace, ts, dims), {})
        metric = metrics.get(name)
        if metric is None:
            metric = metrics[name] = _Metric(payload.get("Unit"), payload.get("StorageResolution", 60))
        if "Values" in payload:
            values = expand(payload["Values"], payload["Counts"])
            if sum(payload["Counts"]) > EMF_MAX_VALUES_PER_METRIC:
                result.adjusted["emf_distribution_scaled"] += datum.weight
            metric.values.extend(values)
        else:
            metric.values.append(payload["Value"])
        result.sent += datum.weight
    for (namespace, ts, dims), metrics in groups.items():
        result.documents.extend(_split(namespace, ts, dims, metrics))
    return result


def _split(
    namespace: str, ts: int, dims: tuple[tuple[str, str], ...], metrics: dict[str, _Metric]
) -> list[dict[str, Any]]:
    """Documents for one dimension set: <= 100 metrics each, <= 100 values per metric."""
    pending = [
        (name, m, m.values[i : i + EMF_MAX_VALUES_PER_METRIC])
        for name, m in metrics.items()
        for i in range(0, len(m.values), EMF_MAX_VALUES_PER_METRIC)
    ]
    out: list[dict[str, Any]] = []
    while pending:
        taken: dict[str, tuple[_Metric, list[float]]] = {}
        rest = []
        for name, metric, values in pending:
            if name in taken or len(taken) >= EMF_MAX_METRICS_PER_DOCUMENT:
                rest.append((name, metric, values))
            else:
                taken[name] = (metric, values)
        out.append(_document(namespace, ts, dims, taken))
        pending = rest
    return out


def _document(
    namespace: str, ts: int, dims: tuple[tuple[str, str], ...], taken: dict[str, tuple[_Metric, list[float]]]
) -> dict[str, Any]:
    definitions: list[dict[str, Any]] = []
    doc: dict[str, Any] = {}
    for name, (metric, values) in taken.items():
        definition: dict[str, Any] = {"Name": name}
        if metric.unit is not None:
            definition["Unit"] = metric.unit
        if metric.resolution == 1:
            definition["StorageResolution"] = 1
        definitions.append(definition)
        doc[name] = values[0] if len(values) == 1 else values
    directive = {"Namespace": namespace, "Dimensions": [[d for d, _ in dims]], "Metrics": definitions}
    return {"_aws": {"Timestamp": ts, "CloudWatchMetrics": [directive]}, **dict(dims), **doc}


def write(docs: Sequence[dict[str, Any]], writer: Callable[[str], None] = write_stdout) -> None:
    for doc in docs:
        writer(json.dumps(doc, separators=(",", ":"), allow_nan=False))
