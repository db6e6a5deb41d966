"""A series' final labels: the target's merged in, relabeling; and the synthetic per-target series.

Follows Prometheus's scrape loop: with ``honor_labels: false`` an exposed label that clashes
with a target label is kept as ``exported_<name>`` and the target's value wins; with
``honor_labels: true`` the exposed value wins. External labels never override a series label.
The scrape stage works these out once per series (its series cache remembers them).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING

from .model import Family, Labels, Sample, SeriesRef
from .parse import Repeated
from .relabel import RelabelRules, relabel, relabel_written

if TYPE_CHECKING:
    from .targets import Target

UP = Family("up", "gauge", "1 if the target was scraped and parsed, 0 otherwise")
DURATION = Family("scrape_duration_seconds", "gauge", "Duration of the scrape", "seconds")
SCRAPED = Family("scrape_samples_scraped", "gauge", "Samples the target exposed")
POST_RELABEL = Family(
    "scrape_samples_post_metric_relabeling", "gauge", "Samples kept after metric relabeling"
)
ADDED = Family("scrape_series_added", "gauge", "Series in this scrape that the previous one lacked")
SYNTHETIC = (UP, DURATION, SCRAPED, POST_RELABEL, ADDED)
"""The series the scrape stage adds for every target, in this order."""


def merge_labels(exposed: Labels, target: Labels, honor_labels: bool, external: Labels = ()) -> Labels:
    """The label set Prometheus would store for a series ``exposed`` scraped from ``target``.

    ``exposed`` is as the exposition has it (in order, possibly with empty values and repeated
    names: ``parse.Repeated``), merged as Prometheus's ``labels.Builder`` does it: every label
    of a name with an empty value goes; a target label replaces every label of its name, its
    first value kept as ``exported_<name>`` (without ``honor_labels``); a repeated name no
    target label replaces stays repeated (the scrape stage refuses it)."""
    first: dict[str, str] = {}
    for name, value in exposed:
        first.setdefault(name, value)
    added = dict(target)
    if honor_labels:
        added = {name: value for name, value in target if name not in first}
    else:
        taken = first.keys() | added.keys()
        for name in sorted((name for name, _ in target if first.get(name)), key=len):
            exported = "exported_" + name
            while exported in taken:
                exported = "exported_" + exported
            taken.add(exported)
            added[exported] = first[name]
    empty = {name for name, value in exposed if not value}
    merged = [pair for pair in exposed if pair[0] not in added and pair[0] not in empty]
    have = {name for name, _ in merged}
    added.update((name, value) for name, value in external if name not in have and name not in added)
    merged += added.items()
    merged.sort(key=_NAME)  # stable: a repeated name keeps its values in exposition order
    return tuple(merged)


_NAME = itemgetter(0)

Schema = tuple[tuple[str, ...], tuple[str, ...], bool]
"""What a finisher's results are made of but for its values: the names of its target's labels,
of its external labels, and ``honor_labels``."""


class LabelFinisher:
    """Turns an exposition's label pairs (unsorted, no empty values, no duplicates, or
    ``parse.Repeated``) into the series' final sorted ``Labels`` for one target (it may sort the
    list it is given): what the scrape stage's series cache stores, so warm scrapes skip merging.
    Without a target, the exposed labels as they are, sorted."""

    __slots__ = ("_extra", "_reserved", "external", "honor_labels", "labels", "schema", "values")

    def __init__(self, labels: Labels = (), external: Labels = (), honor_labels: bool = False) -> None:
        self.labels, self.external, self.honor_labels = labels, external, honor_labels
        self._reserved = {name for name, _ in labels} | {name for name, _ in external}
        self._extra = list(labels) + [pair for pair in external if pair[0] not in dict(labels)]
        self.values: tuple[str, ...] = tuple(value for _, value in (*labels, *external))
        """The target's values, then the external labels': where a plan's constants come from."""
        names = tuple(name for name, _ in labels), tuple(name for name, _ in external)
        unique = len(set(names[0])) == len(names[0]) and len(set(names[1])) == len(names[1])
        self.schema: Schema | None = (*names, honor_labels) if unique else None
        """What its results depend on but its values (which it only passes on): every finisher of
        one schema builds every shape's labels alike (``shape_plan``). ``None`` when a name
        repeats: sorting those pairs compares their values."""

    def __call__(self, pairs: list[tuple[str, str]]) -> Labels:
        if type(pairs) is Repeated:
            return merge_labels(tuple(pairs), self.labels, self.honor_labels, self.external)
        if self._reserved.isdisjoint(name for name, _ in pairs):
            pairs = pairs + self._extra
            pairs.sort()
            return tuple(pairs)
        pairs.sort()
        return merge_labels(tuple(pairs), self.labels, self.honor_labels, self.external)

    def blank(self) -> LabelFinisher:
        """A finisher of the same schema whose values are placeholders, each its own object."""
        placeholders = iter([f"\1{index}" for index in range(len(self.values))])
        labels = tuple((name, next(placeholders)) for name, _ in self.labels)
        external = tuple((name, next(placeholders)) for name, _ in self.external)
        return LabelFinisher(labels, external, self.honor_labels)


def finisher(target: Target) -> LabelFinisher:
    """The finisher of ``target``'s series: its labels, external labels and ``honor_labels``."""
    return LabelFinisher(target.labels, target.external_labels, target.honor_labels)


Plan = tuple[tuple[str, ...], list[int], list[int]]
"""How to build the final labels of a plain label set of one shape: the final label names, the
position of each one's value among the exposed values followed by the constants, and where each
constant comes from (its index in the finisher's ``values``)."""


def shape_plan(finish: LabelFinisher, labels: Sequence[tuple[str, bool]]) -> Plan:
    """The plan of a label-set shape whose labels are ``labels`` (``parse.shape_labels``: each
    name and whether its value is kept), for ``finish``: computed once per shape, so that each
    series of that shape is then a pick of its values (``scrape.entries``). Made with
    ``finish.blank()``, the plan holds for every finisher of its schema."""
    # placeholders told apart by identity: a target label's value may be any string
    marked = [(name, f"\0{index}") for index, (name, kept) in enumerate(labels) if kept]
    position = {id(value): int(value[1:]) for _, value in marked}
    source = {id(value): index for index, value in reversed(list(enumerate(finish.values)))}
    final = finish(marked)
    sources: list[int] = []
    pick: list[int] = []
    for _, value in final:
        index = position.get(id(value))
        if index is None:
            index = len(labels) + len(sources)
            sources.append(source[id(value)])  # equal objects are equal values: any of them
        pick.append(index)
    return tuple(name for name, _ in final), pick, sources


def relabel_series(name: str, labels: Labels, rules: RelabelRules) -> tuple[str, Labels] | None:
    """A series' name and labels after ``rules`` (``metric_relabel_configs``,
    ``write_relabel_configs``), to which ``__name__`` is a label; ``None`` when they drop it."""
    relabeled = relabel({"__name__": name, **dict(labels)}, rules)
    if relabeled is None or not relabeled.get("__name__"):
        return None
    new_name = relabeled.pop("__name__")
    return new_name, tuple(sorted(relabeled.items()))


def relabel_repeated(name: str, labels: Labels, rules: RelabelRules) -> tuple[str, Labels] | None:
    """``relabel_series`` for labels that repeat a name, as Prometheus's relabeling treats them:
    a rule reads a repeated label's first value (``Labels.Get``), and one that sets or drops the
    name replaces every label of it (its ``labels.Builder``), even with the value it had; one no
    rule writes stays repeated."""
    first = {"__name__": name}  # the metric name comes first, before a __name__ label
    for label, value in labels:
        first.setdefault(label, value)
    relabeled, written = relabel_written(first, rules)
    if relabeled is None or not relabeled.get("__name__"):
        return None
    names = ["__name__", *(label for label, _ in labels)]
    twice = {label for at, label in enumerate(names) if label in names[:at]}
    kept = twice - written
    new_name = relabeled.pop("__name__")
    merged = [pair for pair in labels if pair[0] in kept]
    merged += [pair for pair in relabeled.items() if pair[0] not in kept]
    merged.sort(key=_NAME)
    return new_name, tuple(merged)


def synthetic(
    target: Target,
    refs: Sequence[SeriesRef],
    *,
    up: bool,
    duration: float,
    scraped: int,
    kept: int,
    added: int,
    scrape_ms: int,
) -> list[Sample]:
    """``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
    ``scrape_samples_post_metric_relabeling`` and ``scrape_series_added`` for one scrape, with
    the target's labels; ``refs`` are these series' refs (one per ``SYNTHETIC`` family, kept by
    the target's series cache from scrape to scrape)."""
    labels = merge_labels((), target.labels, False, target.external_labels)
    values = (1.0 if up else 0.0, duration, float(scraped), float(kept), float(added))
    return [
        Sample(family.name, labels, value, scrape_ms, family, ref)
        for family, value, ref in zip(SYNTHETIC, values, refs, strict=True)
    ]
