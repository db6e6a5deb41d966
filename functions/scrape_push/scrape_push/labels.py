"""Attach target labels to scraped samples, and build the synthetic per-target series.

Follows Prometheus's scrape loop: with ``honor_labels: false`` an exposed label that clashes
with a target label is kept as ``exported_<name>`` and the target's value wins; with
``honor_labels: true`` the exposed value wins. External labels never override a series label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from .model import Family, Labels, Sample
from .relabel import RelabelRules, relabel

if TYPE_CHECKING:
    from .targets import Target

UP = Family("up", "gauge", "1 if the target was scraped and parsed, 0 otherwise")
DURATION = Family("scrape_duration_seconds", "gauge", "Duration of the scrape", "seconds")
SCRAPED = Family("scrape_samples_scraped", "gauge", "Samples the target exposed")
POST_RELABEL = Family(
    "scrape_samples_post_metric_relabeling", "gauge", "Samples kept after metric relabeling"
)
ADDED = Family("scrape_series_added", "gauge", "Series in this scrape that the previous one lacked")
_DROPPED = ("", ())


def merge_labels(exposed: Labels, target: Labels, honor_labels: bool, external: Labels = ()) -> Labels:
    """The label set Prometheus would store for a series ``exposed`` scraped from ``target``."""
    merged = dict(exposed)
    if honor_labels:
        for name, value in target:
            merged.setdefault(name, value)
    else:
        for name, value in target:
            if name in merged:
                exported = "exported_" + name
                while exported in merged:
                    exported = "exported_" + exported
                merged[exported] = merged[name]
            merged[name] = value
    for name, value in external:
        merged.setdefault(name, value)
    return tuple(sorted(merged.items()))


def finisher(target: Target) -> Callable[[list[tuple[str, str]]], Labels]:
    """The function that turns a series' exposed label pairs into its final labels for
    ``target`` (what the parse stage's series cache stores, so warm scrapes skip merging)."""
    reserved = {name for name, _ in target.labels} | {name for name, _ in target.external_labels}
    extra = list(target.labels) + [
        pair for pair in target.external_labels if pair[0] not in dict(target.labels)
    ]

    def finish(pairs: list[tuple[str, str]]) -> Labels:
        if reserved.isdisjoint(name for name, _ in pairs):
            pairs = pairs + extra
            pairs.sort()
            return tuple(pairs)
        pairs.sort()
        return merge_labels(tuple(pairs), target.labels, target.honor_labels, target.external_labels)

    return finish


def stamp(samples: list[Sample], target: Target, scrape_ms: int) -> list[Sample]:
    """Give every sample its timestamp: the scrape's, or its own with ``honor_timestamps``."""
    if target.honor_timestamps:
        for sample in samples:
            if sample.timestamp_ms is None:
                sample.timestamp_ms = scrape_ms
    else:
        for sample in samples:
            sample.timestamp_ms = scrape_ms
    return samples


_View = tuple[str, Labels, object]
_UNCHANGED: dict[str, object] = {}
_DROPPED_VIEW: _View = ("", (), None)


def relabeled_view(
    samples: Sequence[Sample], rules: RelabelRules, rules_key: str
) -> tuple[list[Sample], int]:
    """``samples`` after ``rules`` (``metric_relabel_configs`` for the scrape stage,
    ``write_relabel_configs`` for one sink), and how many the rules dropped; ``__name__`` is
    a label to the rules. The samples themselves are never changed (a sink's relabeling must
    not change what other sinks see): a relabeled series gets a new ``Sample`` with scratch
    space of its own, remembered in the original series' scratch under ``rules_key`` (which
    names the rules), so a warm scrape runs no regex."""
    if not rules.steps:
        return list(samples), 0
    key = f"relabeled:{rules_key}"
    local: dict[tuple[str, Labels], _View] = {}
    kept: list[Sample] = []
    for sample in samples:
        scratch = sample.cache
        view = (
            cast("_View | None", scratch.get(key))
            if scratch is not None
            else local.get((sample.name, sample.labels))
        )
        if view is None:
            view = _view(sample, rules, scratch is not None)
            if scratch is not None:
                scratch[key] = view
            else:
                local[(sample.name, sample.labels)] = view
        if view is _DROPPED_VIEW:
            continue
        name, labels, own = view
        if own is _UNCHANGED:
            kept.append(sample)
        else:
            kept.append(
                Sample(
                    name,
                    labels,
                    sample.value,
                    sample.timestamp_ms,
                    sample.family,
                    sample.exemplar,
                    own if isinstance(own, dict) else None,
                )
            )
    return kept, len(samples) - len(kept)


def _view(sample: Sample, rules: RelabelRules, cached: bool) -> _View:
    found = _relabeled(sample, rules)
    if found is _DROPPED:
        return _DROPPED_VIEW
    if found == (sample.name, sample.labels):
        return (sample.name, sample.labels, _UNCHANGED)
    return (found[0], found[1], {} if cached else None)


def _relabeled(sample: Sample, rules: RelabelRules) -> tuple[str, Labels]:
    labels = relabel({"__name__": sample.name, **dict(sample.labels)}, rules)
    if labels is None or not labels.get("__name__"):
        return _DROPPED
    name = labels.pop("__name__")
    return name, tuple(sorted(labels.items()))


def synthetic(
    target: Target,
    *,
    up: bool,
    duration: float,
    scraped: int,
    kept: int,
    added: int,
    scrape_ms: int,
    scratch: dict[str, dict[str, object]] | None = None,
) -> list[Sample]:
    """``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
    ``scrape_samples_post_metric_relabeling`` and ``scrape_series_added`` for one scrape, with
    the target's labels. ``scratch`` (the target's series cache keeps one) gives each of these
    series the same per-series scratch space scrape after scrape, as parsed series have."""
    labels = merge_labels((), target.labels, False, target.external_labels)
    values = (
        (UP, 1.0 if up else 0.0),
        (DURATION, duration),
        (SCRAPED, float(scraped)),
        (POST_RELABEL, float(kept)),
        (ADDED, float(added)),
    )
    return [
        Sample(
            family.name,
            labels,
            value,
            scrape_ms,
            family,
            None,
            None if scratch is None else scratch.setdefault(family.name, {}),
        )
        for family, value in values
    ]
