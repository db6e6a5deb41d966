"""Per-scrape limits: the job's ``sample_limit``, ``label_limit`` ... and the target's memory budget.

As in Prometheus, a scrape that breaks a limit fails as a whole: the target gets ``up 0`` and
the reason, and none of its samples are pushed. Label counts include ``__name__``. The sample
and label limits apply to the samples left after ``metric_relabel_configs`` (as in Prometheus),
the memory budget to what the parse builds; both are enforced while the body is parsed, chunk
by chunk, through one ``ScrapeBudget`` per scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from . import histogram
from .model import NativeHistogram, Sample

# What a parse keeps, per item, in CPython 3.11 on 64 bits: measured with tracemalloc over
# node_exporter-like bodies, cold and warm (docs/scaling.md, "Memory cost per sample and per
# series"). The estimate adds the bytes of the text kept; a parse's transient memory is bounded
# apart, by the chunk size (parse.CHUNK_BYTES).
SAMPLE_BYTES: Final = 260
"""Per sample: the ``Sample``, its float, its slot in the output, its series' slot and key
object in the table of series seen (the key's text is counted apart)."""
SERIES_BYTES: Final = 250
"""Per label set the parse builds (a new series, or an exemplar): its cache entry, its ref and
tuples."""
LABEL_BYTES: Final = 115
"""Per label the parse builds that no earlier series of the target had (an exemplar's, or a
new series' pair or name that its target's series do not share yet: ``scrape.entries.Interned``):
the pair and its value string, apart from the text."""
LABEL_SLOT_BYTES: Final = 8
"""Per label of a new series: its slot in the series' label tuple (the pair is shared)."""
FOLLOWED_SAMPLE_BYTES: Final = 200
"""Per sample of a chunk that is the next run of the last scrape's series (a warm parse
following it, ``scrape.series._Reading``): the ``Sample``, its float and its slot in the
output; its series text and entry are the last scrape's, and it has no slot in a table of
series seen (174 B measured for node_exporter's)."""
SEEN_SLOT_BYTES: Final = 60
"""Per series a warm parse followed, once it stops following: its slot in the table of series
seen, into which they are then copied (a dict's entry and index, at most twice their size)."""

MIB: Final = 1 << 20


@dataclass(frozen=True)
class ScrapeLimits:
    """The limits of one job; 0 means no limit."""

    sample_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    native_histogram_bucket_limit: int = 0
    native_histogram_min_bucket_factor: float = 0.0
    """Both reduce a native histogram's resolution rather than fail (``histogram.fit``)."""

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


class SampleLimitExceeded(LimitExceeded):
    """More samples than ``sample_limit``: Prometheus reads the rest of the body all the same,
    to report how many it held."""


class MemoryBudgetExceeded(LimitExceeded):
    """A parse would keep more than the target's share of the function's memory."""

    def __init__(self, max_bytes: int, samples: int) -> None:
        self.max_bytes = max_bytes
        self.samples = samples
        super().__init__(
            f"memory budget of {max_bytes / MIB:.4g} MiB for this target exceeded after "
            f"{samples:,} samples; raise the function's MemorySize or lower "
            "runtime.max_concurrent_scrapes"
        )


class ScrapeBudget:
    """What one scrape of one target may produce, spent while its body is parsed.

    The series cache ``charge``s what each chunk of the parse built against ``max_bytes`` (0: no
    budget); the scrape stage ``admit``s each chunk's samples, relabeled, against ``limits``.
    Either raises a ``LimitExceeded``, which stops the parse with the cache unchanged.

    >>> from scrape_push.model import Family
    >>> a, b = Sample("a", (), 1.0, 0, Family("a"), 1), Sample("b", (), 1.0, 0, Family("b"), 2)
    >>> budget = ScrapeBudget(ScrapeLimits(sample_limit=2))
    >>> budget.admit([a])
    >>> budget.admit([a, b])
    Traceback (most recent call last):
    ...
    scrape_push.limits.SampleLimitExceeded: sample limit exceeded (3 samples, limit 2)
    """

    def __init__(
        self,
        limits: ScrapeLimits | None = None,
        max_bytes: int = 0,
        spend: Callable[[int], None] | None = None,
    ) -> None:
        self.limits = limits or ScrapeLimits()
        self.max_bytes = max_bytes
        self.spend = spend
        """Given what each chunk keeps, in bytes, as it is charged (the scrape stage's memory
        budget of the cycle); may raise a ``LimitExceeded`` to stop the parse."""
        self.parsed = 0
        """Samples the parser produced so far."""
        self.kept_bytes = 0
        """Estimated memory those samples and their new series keep."""
        self.admitted = 0
        """Samples admitted so far (after relabeling), duplicates included
        (``scrape_samples_post_metric_relabeling``)."""
        self.duplicates = 0
        """Samples dropped because an earlier one of the body had their series and time."""
        self.added = 0
        """Of a failed scrape, the series new since the last successful one among those read."""

    def charge(
        self,
        samples: int,
        label_sets: int,
        labels: int,
        text_bytes: int,
        label_slots: int = 0,
        *,
        followed: bool = False,
    ) -> None:
        """Count what a chunk of the parse built: ``samples``, ``label_sets`` new label sets
        with ``labels`` labels no earlier series had and ``label_slots`` labels in all, and
        ``text_bytes`` of text that they keep; ``followed``: the chunk is the next run of the
        last scrape's series (``FOLLOWED_SAMPLE_BYTES``)."""
        self.parsed += samples
        per_sample = FOLLOWED_SAMPLE_BYTES if followed else SAMPLE_BYTES
        kept = samples * per_sample + label_sets * SERIES_BYTES + labels * LABEL_BYTES + text_bytes
        self._keep(kept + label_slots * LABEL_SLOT_BYTES)

    def charge_slots(self, series: int) -> None:
        """Count the slots of the ``series`` a warm parse followed, once it stops following."""
        self._keep(series * SEEN_SLOT_BYTES)

    def _keep(self, kept: int) -> None:
        self.kept_bytes += kept
        if self.spend is not None:
            self.spend(kept)
        if self.max_bytes and self.kept_bytes > self.max_bytes:
            raise MemoryBudgetExceeded(self.max_bytes, self.parsed)

    def drop_duplicates(self, count: int) -> None:
        """Count ``count`` samples dropped as repeats of their series at their time: they still
        count against ``sample_limit`` and as relabeled samples, as in Prometheus."""
        self.duplicates += count
        self.drop_stored(count)

    def drop_stored(self, count: int) -> None:
        """Count ``count`` samples that Prometheus reads and relabels but does not store (they
        count against ``sample_limit`` and in ``scrape_samples_post_metric_relabeling``)."""
        self.admitted += count

    def fit(self, histograms: list[NativeHistogram | None]) -> list[NativeHistogram | None]:
        """A chunk's native histograms within the job's bucket factor and bucket limit, their
        resolution reduced as Prometheus reduces it; ``LimitExceeded`` when one does not fit
        even at the lowest schema (Prometheus fails the scrape with this error too)."""
        limits = self.limits
        limit, factor = limits.native_histogram_bucket_limit, limits.native_histogram_min_bucket_factor
        if not limit and factor <= 1:
            return histograms  # schema 8, the highest, is the most a factor of 1 or less allows
        fitted = [None if h is None else histogram.fit(h, limit, factor) for h in histograms]
        if any(h is None for h, was in zip(fitted, histograms, strict=True) if was is not None):
            raise LimitExceeded(f"histogram bucket limit exceeded (limit {limit})")
        return fitted

    def admit(self, samples: Sequence[Sample]) -> None:
        """Raise ``LimitExceeded`` for the first limit that ``samples``, added to those
        admitted before, break (after a label limit, ``admitted`` counts the samples before the
        one at fault, as Prometheus's ``scrape_samples_post_metric_relabeling`` does)."""
        limits = self.limits
        before = self.admitted
        self.admitted += len(samples)
        if not limits.any:
            return
        if limits.sample_limit and self.admitted > limits.sample_limit:
            raise SampleLimitExceeded(
                f"sample limit exceeded ({self.admitted} samples, limit {limits.sample_limit})"
            )
        checked: set[int] = set()
        for index, sample in enumerate(samples):
            labels = sample.labels
            if id(labels) in checked:
                continue
            checked.add(id(labels))
            try:
                _check_labels(sample, limits)
            except LimitExceeded:
                self.admitted = before + index
                raise


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
