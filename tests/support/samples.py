"""Samples as the scrape stage hands them over, for sink tests: each series has its own ref."""

from __future__ import annotations

from scrape_push.model import Exemplar, Family, Labels, Sample, SeriesRef

NOW_MS = 1_800_000_000_000

_REFS: dict[tuple[str, Labels], SeriesRef] = {}


def ref_of(name: str, labels: Labels) -> SeriesRef:
    """The ref of the series ``name{labels}``: one per distinct series, as a series cache gives."""
    return _REFS.setdefault((name, labels), len(_REFS))


def sample(
    name: str,
    labels: Labels = (),
    value: float = 1.0,
    timestamp_ms: int = NOW_MS,
    family: Family | None = None,
    *,
    exemplar: Exemplar | None = None,
) -> Sample:
    """A sample of ``name{labels}`` (family: untyped of that name unless given)."""
    return Sample(name, labels, value, timestamp_ms, family or Family(name), ref_of(name, labels), exemplar)
