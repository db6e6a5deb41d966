"""A series' final labels: the target's merged in, relabeling; and the synthetic per-target series.

Follows Prometheus's scrape loop: with ``honor_labels: false`` an exposed label that clashes
with a target label is kept as ``exported_<name>`` and the target's value wins; with
``honor_labels: true`` the exposed value wins. External labels never override a series label.
The scrape stage works these out once per series (its series cache remembers them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


LabelFinisher = Callable[[list[tuple[str, str]]], Labels]
"""Turns an exposition's label pairs (unsorted, no empty values, no duplicates, or
``parse.Repeated``) into the series' final sorted ``Labels`` (it may sort the list it is
given)."""

_NAME = itemgetter(0)


def sorted_labels(pairs: list[tuple[str, str]]) -> Labels:
    """The finisher of a series without a target: the exposed labels as they are, sorted."""
    if type(pairs) is Repeated:
        return merge_labels(tuple(pairs), (), False)
    pairs.sort()
    return tuple(pairs)


def finisher(target: Target) -> LabelFinisher:
    """The function that turns a series' exposed label pairs into its final labels for
    ``target`` (what the scrape stage's series cache stores, so warm scrapes skip merging)."""
    reserved = {name for name, _ in target.labels} | {name for name, _ in target.external_labels}
    extra = list(target.labels) + [
        pair for pair in target.external_labels if pair[0] not in dict(target.labels)
    ]

    def finish(pairs: list[tuple[str, str]]) -> Labels:
        if type(pairs) is Repeated:
            return merge_labels(tuple(pairs), target.labels, target.honor_labels, target.external_labels)
        if reserved.isdisjoint(name for name, _ in pairs):
            pairs = pairs + extra
            pairs.sort()
            return tuple(pairs)
        pairs.sort()
        return merge_labels(tuple(pairs), target.labels, target.honor_labels, target.external_labels)

    return finish


Plan = tuple[tuple[str, ...], list[int], list[str]]
"""How to build the final labels of a plain label set of one shape: the final label names, the
position of each one's value among the exposed values followed by the constants, and the
constants (the target's values)."""


def shape_plan(finish: LabelFinisher, labels: Sequence[tuple[str, bool]]) -> Plan:
    """The plan of a label-set shape whose labels are ``labels`` (``parse.shape_labels``: each
    name and whether its value is kept), for ``finish``: computed once per shape, so that each
    series of that shape is then a pick of its values (``scrape.entries``)."""
    # placeholders told apart by identity: a target label's value may be any string
    marked = [(name, f"\0{index}") for index, (name, kept) in enumerate(labels) if kept]
    position = {id(value): int(value[1:]) for _, value in marked}
    final = finish(marked)
    constants: list[str] = []
    pick: list[int] = []
    for _, value in final:
        index = position.get(id(value))
        if index is None:
            index = len(labels) + len(constants)
            constants.append(value)
        pick.append(index)
    return tuple(name for name, _ in final), pick, constants


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
