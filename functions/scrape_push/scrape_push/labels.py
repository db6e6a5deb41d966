"""Attach target labels to scraped samples, and build the synthetic per-target series.

Follows Prometheus's scrape loop: with ``honor_labels: false`` an exposed label that clashes
with a target label is kept as ``exported_<name>`` and the target's value wins; with
``honor_labels: true`` the exposed value wins. External labels never override a series label.
"""

from __future__ import annotations

from .model import Family, Labels, Sample
from .targets import Target

UP = Family("up", "gauge", "1 if the target was scraped and parsed, 0 otherwise")
DURATION = Family("scrape_duration_seconds", "gauge", "Duration of the scrape", "seconds")
SCRAPED = Family("scrape_samples_scraped", "gauge", "Samples the target exposed")
POST_RELABEL = Family(
    "scrape_samples_post_metric_relabeling", "gauge", "Samples kept after metric relabeling"
)


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


def attach(samples: list[Sample], target: Target, scrape_ms: int) -> list[Sample]:
    """Give every sample its final labels and timestamp (in place; returns the same list)."""
    cache: dict[Labels, Labels] = {}
    for sample in samples:
        final = cache.get(sample.labels)
        if final is None:
            final = merge_labels(sample.labels, target.labels, target.honor_labels, target.external_labels)
            cache[sample.labels] = final
        sample.labels = final
        if sample.timestamp_ms is None or not target.honor_timestamps:
            sample.timestamp_ms = scrape_ms
    return samples


def synthetic(
    target: Target, *, up: bool, duration: float, scraped: int, kept: int, scrape_ms: int
) -> list[Sample]:
    """``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped`` and
    ``scrape_samples_post_metric_relabeling`` for one scrape, with the target's labels."""
    labels = merge_labels((), target.labels, False, target.external_labels)
    return [
        Sample("up", labels, 1.0 if up else 0.0, scrape_ms, UP),
        Sample("scrape_duration_seconds", labels, duration, scrape_ms, DURATION),
        Sample("scrape_samples_scraped", labels, float(scraped), scrape_ms, SCRAPED),
        Sample("scrape_samples_post_metric_relabeling", labels, float(kept), scrape_ms, POST_RELABEL),
    ]
