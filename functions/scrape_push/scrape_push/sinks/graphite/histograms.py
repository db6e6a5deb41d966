"""Native histograms for Graphite: each becomes two series, ``<name>_count`` and ``<name>_sum``
(the classic histogram's names; carbon has no bucketed type), sent together.

A histogram is one sample offered: both its datapoints go in one write (or datagram, or pickle
frame), which counts it once, so that it is sent or failed as a whole. Named as float series
are, by the sink's rules, once per series (``HistogramNames``, by ``SeriesRef``).
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Callable, Sequence

from ...model import Sample, SeriesRef
from .convert import Batch, Datapoint, Named, NameRules, plaintext_line, series_name
from .limits import MAX_NAME_BYTES, PICKLE_MAX_FRAME_BYTES, PICKLE_PROTOCOL, UDP_DATAGRAM_BYTES

Pair = tuple[Datapoint, Datapoint]
"""A histogram's ``_count`` and ``_sum`` datapoints."""


def histogram_pairs(
    samples: Sequence[Sample], rules: NameRules, names: dict[SeriesRef, tuple[Named, Named]]
) -> tuple[list[Pair], Counter[str], Counter[str]]:
    """Each histogram sample's two datapoints, what was dropped (``nan_or_inf``,
    ``name_too_long``) and what sanitising adjusted, counted per sample."""
    pairs: list[Pair] = []
    dropped: Counter[str] = Counter()
    adjusted: Counter[str] = Counter()
    for sample in samples:
        histogram = sample.histogram
        assert histogram is not None
        named = names.get(sample.series)
        if named is None:
            named = names[sample.series] = (_named(sample, "_count", rules), _named(sample, "_sum", rules))
        (count_name, count_changes), (sum_name, sum_changes) = named
        if not all(map(math.isfinite, (histogram.count, histogram.sum))):
            dropped["nan_or_inf"] += 1
        elif max(len(count_name), len(sum_name)) > MAX_NAME_BYTES:
            dropped["name_too_long"] += 1
        else:
            stamp = sample.timestamp_ms // 1000
            adjusted.update({*count_changes, *sum_changes})
            pairs.append(((count_name, stamp, float(histogram.count)), (sum_name, stamp, histogram.sum)))
    return pairs, dropped, adjusted


def _named(sample: Sample, suffix: str, rules: NameRules) -> Named:
    reasons: set[str] = set()
    return series_name(sample.name + suffix, sample.labels, rules, reasons), tuple(sorted(reasons))


def pair_batches(pairs: Sequence[Pair], protocol: str, batch_size: int) -> list[Batch]:
    """Batches of whole pairs, each counting its pairs: ``batch_size`` datapoints to a write
    (plaintext, pickle), or as many as fit a datagram (UDP)."""
    if protocol == "udp":
        return _packed(pairs, lambda chunk: b"".join(plaintext_line(p) for pair in chunk for p in pair))
    per = max(1, batch_size // 2)
    chunks = [pairs[start : start + per] for start in range(0, len(pairs), per)]
    if protocol == "pickle":
        return [frame for chunk in chunks for frame in _pickled(chunk)]
    return [
        Batch(b"".join(plaintext_line(p) for pair in chunk for p in pair), len(chunk)) for chunk in chunks
    ]


def _packed(pairs: Sequence[Pair], encode: Callable[[Sequence[Pair]], bytes]) -> list[Batch]:
    """Datagrams of at most ``UDP_DATAGRAM_BYTES`` (a longer pair goes alone)."""
    batches: list[Batch] = []
    current: list[Pair] = []
    for pair in pairs:
        if current and len(encode([*current, pair])) > UDP_DATAGRAM_BYTES:
            batches.append(Batch(encode(current), len(current)))
            current = []
        current.append(pair)
    if current:
        batches.append(Batch(encode(current), len(current)))
    return batches


def _pickled(pairs: Sequence[Pair]) -> list[Batch]:
    """Pickle frames of whole pairs, halved until each fits ``PICKLE_MAX_FRAME_BYTES``."""
    points = [(name, (stamp, value)) for pair in pairs for name, stamp, value in pair]
    data = pickle.dumps(points, protocol=PICKLE_PROTOCOL)
    if len(data) <= PICKLE_MAX_FRAME_BYTES or len(pairs) == 1:
        return [Batch(len(data).to_bytes(4, "big") + data, len(pairs))]
    half = len(pairs) // 2
    return _pickled(pairs[:half]) + _pickled(pairs[half:])
