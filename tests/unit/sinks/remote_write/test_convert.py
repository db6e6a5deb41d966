"""Grouping by series, ordering, dropping, batching and metadata selection (pure)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest
from scrape_push.model import Family, Sample, SeriesRef
from scrape_push.sinks.remote_write.convert import (
    TILE,
    EncodedSeries,
    Encoding,
    SeriesSet,
    _Distinct,
    _grouped,
    batches,
    encode_batch,
    metadata,
    partition,
)
from scrape_push.sinks.remote_write.convert import to_series as _to_series
from scrape_push.sinks.remote_write.encode import (
    LabelEncoder,
    SampleEncoder,
    encode_series,
    head_labels,
)

from devtools.remote_write_proto import remote_pb2
from tests.support.remote_write import decode as _unused  # noqa: F401  (keeps the helper importable)
from tests.support.remote_write import series_of
from tests.support.samples import sample

JOB = (("instance", "a:1"), ("job", "j"))
NOW = 1_800_000_000_123


def to_series(samples: list[Sample], known: dict[SeriesRef, Encoding] | None = None) -> SeriesSet:
    """The sink's translation, with a memory of its own unless ``known`` is given."""
    encoder = LabelEncoder()

    def encode(samples: Sequence[Sample]) -> list[Encoding]:
        return encoder.heads([s.name for s in samples], [s.labels for s in samples])

    return _to_series(samples, {} if known is None else known, encode)


def all_series(found: SeriesSet) -> list[EncodedSeries]:
    """The series, whichever form holds them."""
    columns = found.columns
    if columns is None:
        return found.series
    return [
        (head_labels(head), [(s.timestamp_ms, s.value)])
        for head, s in zip(columns.heads, columns.samples, strict=True)
    ]


def _request(series: list[EncodedSeries]) -> remote_pb2.WriteRequest:
    request = remote_pb2.WriteRequest()
    request.ParseFromString(encode_series(list(series), SampleEncoder()))
    return request


def test_groups_series_orders_samples_and_keeps_last_duplicate() -> None:
    samples = [
        sample("m", JOB, 1.0, 3000),
        sample("other", JOB, 9.0, 1000),
        sample("m", JOB, 2.0, 1000),
        sample("m", JOB, 3.0, 3000),
    ]
    result = to_series(samples)
    assert result.samples == 3
    assert result.dropped == Counter({"duplicate_timestamp": 1})
    decoded = series_of(_request(result.series))
    assert decoded == {
        (("__name__", "m"), *JOB): [(1000, 2.0), (3000, 3.0)],
        (("__name__", "other"), *JOB): [(1000, 9.0)],
    }


def test_drops_forbidden_series() -> None:
    samples = [sample("bad-name", JOB, 1.0, 1), sample("ok", JOB, 1.0, 77)]
    result = to_series(samples)
    assert result.dropped == Counter({"invalid_metric_name": 1})
    assert series_of(_request(all_series(result))) == {(("__name__", "ok"), *JOB): [(77, 1.0)]}


def test_the_memory_by_ref_is_filled_and_reused() -> None:
    known: dict[SeriesRef, Encoding] = {}
    first = sample("m", JOB, 1.0, 1)
    to_series([first], known)
    assert isinstance(known[first.series], bytes)
    again = to_series([first._replace(name="ignored_name_because_known", value=2.0, timestamp_ms=2)], known)
    assert series_of(_request(all_series(again))) == {(("__name__", "m"), *JOB): [(2, 2.0)]}


@pytest.mark.parametrize("seed", range(40))
def test_partition_keeps_every_point_in_order_and_chains_shared_series(seed: int) -> None:
    rng = random.Random(seed)
    series = [
        (f"s{i}".encode(), [(t, float(t)) for t in range(rng.choice([1, 1, 2, 7, 30]))])
        for i in range(rng.randint(1, 60))
    ]
    limit = rng.randint(1, 25)
    chains = partition(series, limit)
    seen: dict[bytes, list[tuple[int, float]]] = {}
    owner: dict[bytes, int] = {}
    for index, chain in enumerate(chains):
        for batch in chain:
            assert 0 < batch.samples <= limit
            assert batch.samples == sum(len(points) for _, points in batch.entries)
            for labels, points in batch.entries:
                seen.setdefault(labels, []).extend(points)
                assert owner.setdefault(labels, index) == index, "a series spans two chains"
    assert seen == dict(series)


def test_single_sample_series_make_independent_batches() -> None:
    series: list[EncodedSeries] = [(f"s{i}".encode(), [(1, 1.0)]) for i in range(10)]
    chains = partition(series, 3)
    assert [[b.samples for b in chain] for chain in chains] == [[3], [3], [3], [1]]


def test_metadata_skips_synthetic_and_undeclared_families_and_dedupes() -> None:
    families = [
        Family("requests", "counter", "Requests."),
        Family("requests", "counter", "Requests."),
        Family("up", "gauge", "1 if the target was scraped"),
        Family("plain", "untyped"),
        Family("described", "untyped", "has help"),
    ]
    decoded = remote_pb2.WriteRequest()
    decoded.ParseFromString(b"".join(metadata(families)))
    assert [(m.metric_family_name, m.type) for m in decoded.metadata] == [("requests", 1), ("described", 0)]


def test_the_warm_fast_path_equals_the_general_grouping() -> None:
    fam_a, fam_b = Family("a", "gauge"), Family("b", "counter")
    fresh = [
        sample("a", (("i", str(i)), *JOB), float(i), NOW + i % 3, fam_a if i % 2 else fam_b)
        for i in range(50)
    ]
    known: dict[SeriesRef, Encoding] = {}
    to_series(fresh, known)  # the first scrape fills the memory
    assert all(isinstance(known.get(s.series), bytes) for s in fresh)
    warm = to_series(fresh, known)
    general = _grouped(fresh, [head_labels(known[s.series]) for s in fresh], Counter())  # type: ignore[arg-type]
    assert warm.columns is not None and general.columns is None
    assert (all_series(warm), warm.samples, warm.dropped) == (
        general.series,
        general.samples,
        general.dropped,
    )
    assert warm.families == general.families == [fam_b, fam_a]
    warm_batches, general_batches = batches(warm, 7), batches(general, 7)
    assert [[b.samples for b in chain] for chain in warm_batches] == [[7]] * 7 + [[1]]
    assert [[b.samples for b in chain] for chain in general_batches] == [[7]] * 7 + [[1]]
    encoder = SampleEncoder()
    assert [encode_batch(c[0], encoder) for c in warm_batches] == [
        encode_batch(c[0], encoder) for c in general_batches
    ]
    assert warm.columns is not None
    waiting = [chain[0].columns for chain in warm_batches]
    assert all(part is not None and part.heads is warm.columns.heads for part in waiting)  # no copies


def test_duplicates_leave_the_fast_path() -> None:
    samples = [sample("m", JOB, 1.0, 1000), sample("m", JOB, 2.0, 2000)]
    known: dict[SeriesRef, Encoding] = {}
    to_series(samples, known)
    assert series_of(_request(all_series(to_series(samples, known)))) == {
        (("__name__", "m"), *JOB): [(1000, 1.0), (2000, 2.0)]
    }


def _cycle(count: int, repeat_at: int | None = None) -> list[Sample]:
    """``count`` series with a sample each; the one at ``repeat_at`` is the first series again."""
    found = [sample("m", (("i", str(i)), *JOB), float(i), NOW) for i in range(count)]
    if repeat_at is not None:
        found[repeat_at] = found[0]._replace(value=-1.0, timestamp_ms=NOW + 1)
    return found


def _grouping(samples: list[Sample], known: dict[SeriesRef, Encoding], before: Sequence[bytes]) -> SeriesSet:
    encoder = LabelEncoder()

    def encode(new: Sequence[Sample]) -> list[Encoding]:
        return encoder.heads([s.name for s in new], [s.labels for s in new])

    return _to_series(samples, known, encode, before)


@pytest.mark.parametrize("count", [5, TILE + 5, 3 * TILE])
def test_a_cycle_that_repeats_an_earlier_one_s_distinct_heads_takes_the_fast_path(count: int) -> None:
    known: dict[SeriesRef, Encoding] = {}
    first = _grouping(_cycle(count), known, ())
    assert first.columns is not None
    before = first.columns.heads
    for samples in (_cycle(count), _cycle(count)[: count - 2]):  # the same, or a part of it
        again = _grouping(samples, known, before)
        assert again.columns is not None and again.columns.heads == before[: len(samples)]
    known.clear()  # the heads made again are other objects with the same bytes
    assert _grouping(_cycle(count), known, before).columns is not None


@pytest.mark.parametrize("count", [5, TILE + 5, 3 * TILE])
def test_a_series_twice_is_grouped_wherever_the_cycle_stops_repeating_the_earlier_one(count: int) -> None:
    known: dict[SeriesRef, Encoding] = {}
    first = _grouping(_cycle(count), known, ())
    assert first.columns is not None
    for at in sorted({1, count // 2, count - 1}):  # the first series again, in the first tile or a later one
        found = _grouping(_cycle(count, repeat_at=at), known, first.columns.heads)
        assert found.columns is None
        assert found.samples == count and not found.dropped
        points = dict(found.series)[head_labels(first.columns.heads[0])]
        assert points == sorted([(NOW, 0.0), (NOW + 1, -1.0)])


def test_heads_that_repeat_the_earlier_ones_are_never_put_in_a_set() -> None:
    before = [bytes([i]) for i in range(10)]
    repeating, heads = _Distinct(before), list[bytes]()
    for tile in (before[:4], before[4:8], before[8:]):
        repeating.add(heads, list(tile))
        heads += tile
    assert repeating.seen is None and repeating.all(heads)
    changed, heads = _Distinct(before), list[bytes]()
    for tile in (before[:4], [b"new", before[1]]):
        changed.add(heads, tile)
        heads += tile
    assert changed.seen == set(heads) and not changed.all(heads)


def test_the_earlier_heads_are_not_trusted_past_their_end() -> None:
    known: dict[SeriesRef, Encoding] = {}
    short = _grouping(_cycle(3), known, ())
    assert short.columns is not None
    longer = _cycle(5)
    longer[4] = longer[1]
    assert _grouping(longer, known, short.columns.heads).columns is None


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_timestamps_beyond_int64_are_dropped_never_wrapped(warm: bool) -> None:
    stamps = [2**63, 1000, -(2**63) - 1, 2**63 - 1, -(2**63)]
    samples = [sample(f"m{i}", JOB, float(i), stamp) for i, stamp in enumerate(stamps)]
    known: dict[SeriesRef, Encoding] = {}
    if warm:
        to_series(samples, known)
    result = to_series(samples, known)
    assert result.dropped == Counter({"timestamp_out_of_range": 2})
    (chain,) = batches(result, 10)
    decoded = series_of(_request_bytes(encode_batch(chain[0], SampleEncoder())))
    assert sorted(points[0][0] for points in decoded.values()) == [-(2**63), 1000, 2**63 - 1]


def _request_bytes(payload: bytes) -> remote_pb2.WriteRequest:
    request = remote_pb2.WriteRequest()
    request.ParseFromString(payload)
    return request


@pytest.mark.parametrize(
    "stamps",
    [
        [2**35, 2**42 - 1],  # the ends of the fast path's range
        [2**35 - 1, NOW],  # a 5-byte varint
        [NOW, 2**42],  # a 7-byte one
        [NOW] * 3,
    ],
)
def test_every_timestamp_length_encodes_exactly(stamps: list[int]) -> None:
    """A series' kept head holds a sample's length for a 6-byte timestamp: any other goes the
    general way, with the same bytes a protobuf library reads."""
    samples = [sample("m", (("i", str(i)), *JOB), float(i), stamp) for i, stamp in enumerate(stamps)]
    known: dict[SeriesRef, Encoding] = {}
    to_series(samples, known)
    found = to_series(samples, known)
    in_range = all(2**35 <= stamp < 2**42 for stamp in stamps)
    assert (found.columns is not None) == in_range
    (chain,) = batches(found, 10)
    decoded = series_of(_request_bytes(encode_batch(chain[0], SampleEncoder())))
    assert decoded == {
        (("__name__", "m"), ("i", str(i)), *JOB): [(t, float(i))] for i, t in enumerate(stamps)
    }
