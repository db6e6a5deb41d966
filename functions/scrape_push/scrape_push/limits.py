"""Per-scrape limits from ``scrape_configs`` (``sample_limit``, ``label_limit`` ...).

As in Prometheus, a scrape that breaks a limit fails as a whole: the target gets ``up 0`` and
the reason, and none of its samples are pushed. Label counts include ``__name__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import Sample


@dataclass(frozen=True)
class ScrapeLimits:
    """The limits of one job; 0 means no limit."""

    sample_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.sample_limit
            or self.label_limit
            or self.label_name_length_limit
            or self.label_value_length_limit
        )


class LimitExceeded(Exception):
    """A scrape broke one of its job's limits; the message follows Prometheus's wording."""


def check(samples: Sequence[Sample], limits: ScrapeLimits) -> None:
    """Raise ``LimitExceeded`` for the first limit ``samples`` break."""
    if not limits.any:
        return
    if limits.sample_limit and len(samples) > limits.sample_limit:
        raise LimitExceeded(f"sample limit exceeded ({len(samples)} samples, limit {limits.sample_limit})")
    checked: set[int] = set()
    for sample in samples:
        labels = sample.labels
        if id(labels) in checked:
            continue
        checked.add(id(labels))
        _check_labels(sample, limits)


def _check_labels(sample: Sample, limits: ScrapeLimits) -> None:
    metric = sample.name[:50]
    count = len(sample.labels) + 1
    if limits.label_limit and count > limits.label_limit:
        raise LimitExceeded(
            f"label_limit exceeded (metric: {metric}, number of labels: {count}, limit: {limits.label_limit})"
        )
    for name, value in sample.labels:
        if limits.label_name_length_limit and len(name) > limits.label_name_length_limit:
            raise LimitExceeded(
                f"label_name_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                f"length: {len(name)}, limit: {limits.label_name_length_limit})"
            )
        if limits.label_value_length_limit and len(value) > limits.label_value_length_limit:
            raise LimitExceeded(
                f"label_value_length_limit exceeded (metric: {metric}, label name: {name[:50]}, "
                f"value: {value[:50]!r}, length: {len(value)}, limit: {limits.label_value_length_limit})"
            )
