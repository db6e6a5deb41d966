"""Pure translation of samples into carbon series names, plaintext lines and pickle frames.

Nothing here touches the network. ``to_points`` names every sample (dropping and counting what
carbon would lose; each series is named once, and its name kept by ``SeriesRef``),
``plaintext_batches``/``datagram_batches``/``pickle_batches`` pack the datapoints into what one
write (or one datagram) carries.

Names, in ``path`` mode: the prefix, the template's components, then every label the template
does not use as two components ``name.value``, sorted by label name::

    {job}.{instance}.{__name__}  ->  prod.api.10_0_0_1:9100.http_seconds_bucket.le.0_5

In ``tags`` mode (Graphite 1.1 tagged series), in carbon's own normal form (tags sorted)::

    prod.http_seconds_bucket;instance=10.0.0.1:9100;job=api;le=0.5

Every label value is sanitised on its own, so no value can add a path component, a tag or a
line: a path component keeps only letters, digits and ``_ - :``; a tag value keeps visible ASCII
except ``;`` and never starts with ``~``; a tag name also loses ``!^=``. Anything else becomes
``_``. Distinct series that sanitising makes equal are counted as collisions; the first is sent.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import re
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ...config.values import LABEL_NAME
from ...model import Labels, Sample, SeriesRef
from .limits import (
    MAX_NAME_BYTES,
    MAX_PATH_COMPONENT_BYTES,
    PICKLE_MAX_FRAME_BYTES,
    PICKLE_PROTOCOL,
    RESERVED_TAG,
    UDP_DATAGRAM_BYTES,
)

NAME_LABEL = "__name__"
MISSING_LABEL = "_"
"""What a template placeholder renders as when the series lacks that label."""

DEFAULT_TEMPLATE = "{__name__}"
RENAMED_RESERVED_TAG = f"exported_{RESERVED_TAG}"

PATH_SAFE = re.compile(r"[A-Za-z0-9_:\-]+")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9_:\-]")
_TAG_NAME_UNSAFE = re.compile(r"[^\x21-\x7e]|[;!^=]")
_TAG_VALUE_UNSAFE = re.compile(r"[^\x21-\x7e]|;")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATH_SPECIAL_VALUES = {"+Inf": "inf", "-Inf": "-inf"}
"""Histogram bounds read better as ``le.inf`` than ``le._Inf``."""

_HASH_CHARS = 8
_FRAME_HEADER = struct.Struct("!L")
_PICKLE_ITEM_OVERHEAD = 32
"""Upper bound of the pickle opcodes around one ``(name, (timestamp, value))`` item."""
_PICKLE_FRAME_OVERHEAD = 16

Datapoint = tuple[str, int, float]
"""One datapoint as carbon takes it: series name, timestamp in seconds, value."""

Named = tuple[str, tuple[str, ...]]
"""A series' carbon name, and what sanitising changed in it (``adjusted`` reasons)."""


@dataclass(frozen=True)
class Template:
    """A parsed path template: components of literal text and ``{label}`` placeholders."""

    text: str
    components: tuple[tuple[tuple[bool, str], ...], ...]
    """Per component, its parts as ``(is_label, text)``."""
    labels: frozenset[str]
    """The labels placed by the template (they are not repeated after it)."""


def parse_template(text: str) -> Template:
    """Parse ``{job}.{instance}.{__name__}``; raise ``ValueError`` saying what is wrong.

    >>> parse_template("{job}.host-{instance}.{__name__}").labels == {"job", "instance"}
    True
    """
    components: list[tuple[tuple[bool, str], ...]] = []
    labels: set[str] = set()
    for component in text.split("."):
        parts: list[tuple[bool, str]] = []
        position = 0
        for match in _PLACEHOLDER.finditer(component):
            parts.append((False, component[position : match.start()]))
            label = match.group(1)
            if label != NAME_LABEL and not LABEL_NAME.match(label):
                raise ValueError(f"invalid label name {label!r} in {{...}}")
            parts.append((True, label))
            labels.add(label)
            position = match.end()
        parts.append((False, component[position:]))
        parts = [(is_label, part) for is_label, part in parts if part]
        if not parts:
            raise ValueError("has an empty path component (a leading, trailing or doubled '.')")
        for is_label, part in parts:
            if not is_label and not PATH_SAFE.fullmatch(part):
                raise ValueError(
                    f"literal text {part!r} may only hold letters, digits and _ - : "
                    "(labels go in braces, e.g. {job})"
                )
        components.append(tuple(parts))
    if NAME_LABEL not in labels:
        raise ValueError("must place the metric name with {__name__}")
    return Template(text, tuple(components), frozenset(labels - {NAME_LABEL}))


@dataclass(frozen=True)
class NameRules:
    """How one sink names series."""

    mode: str = "path"
    prefix: str = ""
    template: Template = field(default_factory=lambda: parse_template(DEFAULT_TEMPLATE))


@dataclass
class PointSet:
    """The datapoints to send, and every sample not sent (or sent renamed) counted by reason."""

    points: list[Datapoint] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    adjusted: Counter[str] = field(default_factory=Counter)
    collisions: Counter[str] = field(default_factory=Counter)
    """Per series name sent: other series dropped because they were given the same name."""


def to_points(samples: Iterable[Sample], rules: NameRules, names: dict[SeriesRef, Named]) -> PointSet:
    """Name every sample and stamp it in whole seconds; drop (and count) what carbon would lose.
    ``names`` holds each series' name by ref (a series named for the first time is added).

    NaN and ±Inf are dropped as ``nan_or_inf`` (carbon itself drops NaN without a word; the sink
    left the staleness markers out before, ``base.without_markers``).
    """
    result = PointSet()
    dropped, adjusted = result.dropped, result.adjusted
    owners: dict[tuple[str, int], tuple[str, Labels]] = {}
    for sample in samples:
        value = sample.value
        if math.isnan(value) or math.isinf(value):
            dropped["nan_or_inf"] += 1
            continue
        named = names.get(sample.series)
        if named is None:
            reasons: set[str] = set()
            name = series_name(sample.name, sample.labels, rules, reasons)
            named = names[sample.series] = (name, tuple(sorted(reasons)))
        name, changes = named
        if len(name) > MAX_NAME_BYTES:
            dropped["name_too_long"] += 1
            continue
        timestamp = sample.timestamp_ms // 1000
        identity = (sample.name, sample.labels)
        owner = owners.setdefault((name, timestamp), identity)
        if owner != identity:
            dropped["name_collision"] += 1
            result.collisions[name] += 1
            continue
        adjusted.update(changes)
        result.points.append((name, timestamp, value))
    return result


def series_name(metric: str, labels: Labels, rules: NameRules, reasons: set[str]) -> str:
    """The carbon name of one series; ``reasons`` collects what sanitising changed."""
    if rules.mode == "tags":
        return tagged_name(metric, labels, rules.prefix, reasons)
    return path_name(metric, labels, rules, reasons)


def path_name(metric: str, labels: Labels, rules: NameRules, reasons: set[str]) -> str:
    """``prefix`` + the template's components + the other labels as ``name.value`` pairs."""
    values = dict(labels)
    values[NAME_LABEL] = metric
    parts = [rules.prefix] if rules.prefix else []
    for component in rules.template.components:
        text = "".join(
            path_component(values.get(part, MISSING_LABEL), reasons) if is_label else part
            for is_label, part in component
        )
        parts.append(_shorten(text, reasons))
    used = rules.template.labels
    for label, value in labels:
        if label not in used:
            parts.append(_shorten(path_component(label, reasons), reasons))
            parts.append(_shorten(path_component(value, reasons), reasons))
    return ".".join(parts)


def path_component(value: str, reasons: set[str]) -> str:
    """``value`` as (part of) one path component: letters, digits and ``_ - :`` only."""
    special = _PATH_SPECIAL_VALUES.get(value)
    if special is not None:
        return special
    if PATH_SAFE.fullmatch(value):
        return value
    reasons.add("path_sanitised")
    return _PATH_UNSAFE.sub("_", value) or MISSING_LABEL


def tagged_name(metric: str, labels: Labels, prefix: str, reasons: set[str]) -> str:
    """``prefix.metric;tag=value;...`` with tags sorted by name, as carbon stores it."""
    name = _shorten(path_component(metric, reasons), reasons)
    if prefix:
        name = f"{prefix}.{name}"
    tags: dict[str, str] = {}
    for label, value in labels:
        tag = tag_name(label, reasons)
        if tag in tags:
            reasons.add("tag_name_merged")
            continue
        tags[tag] = tag_value(value, reasons)
    return name + "".join(f";{tag}={tags[tag]}" for tag in sorted(tags))


def tag_name(label: str, reasons: set[str]) -> str:
    """A tag name carbon keeps: visible ASCII but ``;!^=``, and never carbon's own ``name``."""
    if label == RESERVED_TAG:
        reasons.add("tag_name_reserved")
        return RENAMED_RESERVED_TAG
    if _TAG_NAME_UNSAFE.search(label) is None:
        return label
    reasons.add("tag_name_sanitised")
    return _TAG_NAME_UNSAFE.sub("_", label)


def tag_value(value: str, reasons: set[str]) -> str:
    """A tag value carbon keeps: visible ASCII but ``;``, not starting with ``~``, not empty."""
    clean = _TAG_VALUE_UNSAFE.sub("_", value)
    if clean.startswith("~"):
        clean = "_" + clean[1:]
    if not clean:
        clean = MISSING_LABEL
    if clean != value:
        reasons.add("tag_value_sanitised")
    return clean


def _shorten(component: str, reasons: set[str]) -> str:
    """Cut a path component to a file name's length, keeping distinct ones distinct (hash tail)."""
    if len(component) <= MAX_PATH_COMPONENT_BYTES:
        return component
    reasons.add("path_component_truncated")
    digest = hashlib.sha256(component.encode()).hexdigest()[:_HASH_CHARS]
    return f"{component[: MAX_PATH_COMPONENT_BYTES - _HASH_CHARS - 1]}-{digest}"


def format_value(value: float) -> str:
    """The shortest text that reads back as ``value`` (integers without ``.0``)."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, slots=True)
class Batch:
    """What one write (or one datagram) carries, and how many points are in it."""

    payload: bytes
    count: int


def plaintext_line(point: Datapoint) -> bytes:
    """``name value timestamp\\n``, carbon's plaintext protocol."""
    name, timestamp, value = point
    return f"{name} {format_value(value)} {timestamp}\n".encode()


def plaintext_batches(points: Sequence[Datapoint], batch_size: int) -> list[Batch]:
    """Lines, ``batch_size`` to a write."""
    chunks = (points[start : start + batch_size] for start in range(0, len(points), batch_size))
    return [Batch(b"".join(plaintext_line(p) for p in chunk), len(chunk)) for chunk in chunks]


def datagram_batches(points: Iterable[Datapoint], max_bytes: int = UDP_DATAGRAM_BYTES) -> list[Batch]:
    """Whole lines packed into datagrams of at most ``max_bytes`` (a longer line goes alone)."""
    batches: list[Batch] = []
    lines: list[bytes] = []
    size = 0
    for point in points:
        line = plaintext_line(point)
        if lines and size + len(line) > max_bytes:
            batches.append(Batch(b"".join(lines), len(lines)))
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines:
        batches.append(Batch(b"".join(lines), len(lines)))
    return batches


def pickle_batches(
    points: Sequence[Datapoint], batch_size: int, max_frame_bytes: int = PICKLE_MAX_FRAME_BYTES
) -> list[Batch]:
    """Length-prefixed pickle frames of at most ``batch_size`` points and ``max_frame_bytes``.

    Each frame is a protocol-2 pickle of ``[(name, (timestamp, value)), ...]``, the shape carbon's
    pickle receiver unpickles. Sizes are estimated to pack, then checked exactly once encoded.
    """
    frames: list[Batch] = []
    start = 0
    while start < len(points):
        end, size = start, _PICKLE_FRAME_OVERHEAD
        while end < len(points) and end - start < batch_size:
            item = len(points[end][0].encode()) + _PICKLE_ITEM_OVERHEAD
            if end > start and size + item > max_frame_bytes:
                break
            size += item
            end += 1
        frames.extend(_pickle_frames(points[start:end], max_frame_bytes))
        start = end
    return frames


def _pickle_frames(points: Sequence[Datapoint], max_frame_bytes: int) -> list[Batch]:
    data = pickle.dumps([(name, (ts, value)) for name, ts, value in points], protocol=PICKLE_PROTOCOL)
    if len(data) <= max_frame_bytes or len(points) == 1:
        return [Batch(_FRAME_HEADER.pack(len(data)) + data, len(points))]
    half = len(points) // 2
    return _pickle_frames(points[:half], max_frame_bytes) + _pickle_frames(points[half:], max_frame_bytes)
