"""The wire kernel (``native/wire.c``) against its pure-Python reference: each of its functions on
drawn and hand-picked hostile inputs, and the sink's grouping, encoding and requests with the
kernel on and off. Also run on the arm64 build under emulation: the draws are kept small."""

from __future__ import annotations

import struct
import sys
import tracemalloc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from types import ModuleType
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scrape_push.model import STALE_BITS, STALE_NAN, Family, Labels, Sample
from scrape_push.sinks.base import SinkReport
from scrape_push.sinks.remote_write import convert, encode
from scrape_push.sinks.remote_write.convert import Encoding, SeriesSet, to_series
from scrape_push.sinks.remote_write.encode import (
    WIRE_API,
    LabelEncoder,
    encode_columns,
    encode_heads,
    series_head,
)
from scrape_push.sinks.remote_write.sink import RemoteWriteSink

from tests.support.context import build_context
from tests.support.native import compiled
from tests.unit.sinks.remote_write.test_requests_unchanged import CASES, Case, Fleet
from tests.unit.sinks.remote_write.test_transport import _config

pytestmark = pytest.mark.native

DRAWS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IN_HEAD = 1_790_000_000_000
"""A timestamp in ``HEAD_STAMPS``."""


@pytest.fixture(autouse=True, scope="module")
def _built() -> None:
    """Every test here skips where the kernel is not built (and fails under REQUIRE_NATIVE=1)."""
    compiled("wire", WIRE_API)


def wire() -> ModuleType:
    return compiled("wire", WIRE_API)


@contextmanager
def python_only() -> Iterator[None]:
    """The pure-Python path: the kernel off in every module that uses it."""
    with patch.object(encode, "_KERNEL", None), patch.object(convert, "_KERNEL", None):
        yield


def _copy(text: str) -> str:
    """An equal str that is another object (the kernel compares some by identity)."""
    return "".join([text[:1], text[1:]]) if len(text) > 1 else text


# -- new series' heads --------------------------------------------------------------------------

LABEL_NAMES = ["a", "b", "cpu", "instance", "job", "zz", "A", "_x", "__name__", "__x", "a:b", "a-b", "", "é"]
LABEL_NAMES += ["0a", "\ud800"]
METRIC_NAMES = ["m", "up", "ns:m_total", "", "0bad", "m-m", "é_total", "\udfff", "a" * 300]
VALUES = ["1", "x", "", "\ud800", "/é", "v" * 200, "日本", "w" * 17_000]

names = st.one_of(st.sampled_from(METRIC_NAMES), st.text(max_size=6))
label_names = st.one_of(st.sampled_from(LABEL_NAMES), st.text(max_size=6))
values = st.one_of(st.sampled_from(VALUES), st.text(max_size=6))


@st.composite
def label_sets(draw: st.DrawFn) -> Labels:
    pairs = draw(st.lists(st.tuples(label_names, values), max_size=draw(st.sampled_from([3, 8, 40]))))
    if draw(st.booleans()):
        pairs = sorted(dict(pairs).items())  # as a series cache gives them (mostly)
    return tuple(pairs)


@st.composite
def series_lists(draw: st.DrawFn) -> list[tuple[str, Labels]]:
    """Series, some of them sharing the objects of the series before (its name, some of its
    pairs, or its label names with other values), some equal to it in other objects."""
    out: list[tuple[str, Labels]] = []
    for _ in range(draw(st.integers(0, 25))):
        how = draw(st.sampled_from(["new", "new", "same", "copy", "values"])) if out else "new"
        if how == "new":
            out.append((draw(names), draw(label_sets())))
            continue
        name, labels = out[-1]
        if how == "copy":
            out.append((_copy(name), tuple((_copy(k), _copy(v)) for k, v in labels)))
        elif how == "values":
            out.append((name, tuple((k, draw(values)) if draw(st.booleans()) else (k, v) for k, v in labels)))
        else:
            out.append((name, labels))
    return out


@DRAWS
@given(series=series_lists(), utf8=st.booleans(), limit=st.sampled_from([1, 3, encode.LABEL_MEMO_SIZE]))
@example(series=[("m", (("a", "1"),))] * 3 + [("m", (("a", "1"), ("b", "2")))], utf8=False, limit=1)
@example(series=[("m", (("\x00\u0100", "1"),))], utf8=True, limit=1)  # a NUL sorts before __name__
def test_heads_are_the_references(series: list[tuple[str, Labels]], utf8: bool, limit: int) -> None:
    """Sorted or not, shared objects or equal ones, refused names, pairs and values, long and
    many labels, memories starting afresh: ``LabelEncoder.heads`` gives what it gives without the
    kernel, and what the kernel remembers is what the Python path would have."""
    metric_names = [name for name, _ in series]
    sets = [labels for _, labels in series]
    with patch.object(encode, "LABEL_MEMO_SIZE", limit):
        kernel, reference = LabelEncoder(utf8), LabelEncoder(utf8)
        for _ in range(2):  # the second time from what each remembered
            made = kernel.heads(metric_names, sets)
            with python_only():
                expected = reference.heads(metric_names, sets)
            assert made == expected
            assert list(map(type, made)) == list(map(type, expected))
            assert len(kernel._pairs) <= limit and len(kernel._names) <= limit
    for pair, found in kernel._pairs.items():
        assert found == encode._encode_label(*pair, utf8)
    for name, found in kernel._names.items():
        assert found == kernel._name_label(name)


def _raw(series: Sequence[tuple[str, Any]], utf8: bool = False, pairs: dict[Any, Any] | None = None) -> Any:
    """The kernel's own answer for each series (``None``: handed back), its memories fresh."""
    names, label_sets = [name for name, _ in series], [labels for _, labels in series]
    return wire().heads(names, label_sets, {}, {} if pairs is None else pairs, utf8, 100)


def test_the_kernel_makes_plain_series_and_hands_back_the_others() -> None:
    job = (("instance", "a:1"), ("job", "j"))
    plain = ("m", job)
    handed = [
        ("0bad", job),  # a refused metric name
        ("m", (("job", "j"), ("instance", "a:1"))),  # not sorted
        ("m", (("A", "x"), *job)),  # a name sorting before __name__
        ("m", (("a", "1"), ("a", "2"))),  # a repeated name
        ("m", (("__name__", "x"),)),
        ("m", (("a", ""),)),  # an empty value
        ("m", (("a-b", "1"),)),  # not a legacy label name
        ("m", (("a", "\ud800"),)),  # no UTF-8
        ("\ud800", ()),
        ("m", [("a", "1")]),  # not a tuple
        ("m", (("a", "1", "2"),)),
        ("m", (("a", 1),)),
    ]
    found = _raw([plain, *handed])
    assert found[0] == series_head(LabelEncoder().labels(*plain))  # type: ignore[arg-type]
    assert found[1:] == [None] * len(handed)
    assert _raw([("m-m", (("a.b", "1"),))], utf8=True) != [None]  # UTF-8 names: any non-empty one
    assert _raw([("", ())], utf8=True) == [None]
    reason = {("a", "1"): "invalid_label_name"}  # remembered by the Python path
    assert _raw([("m", (("a", "1"),))], pairs=reason) == [None]
    assert wire().heads(("m",), [()], {}, {}, False, 100) is None  # not lists: all of it to Python


def test_heads_leave_no_references_behind() -> None:
    pair, name = ("instance", "x" * 50), "m" * 20
    sets = [((pair),), ((pair), ("z", "")), (("a", "1"), pair)]
    memo_names: dict[str, Any] = {}
    memo_pairs: dict[Any, Any] = {}
    wire().heads([name] * 3, sets, memo_names, memo_pairs, False, 100)
    before = (sys.getrefcount(pair), sys.getrefcount(name), sys.getrefcount(memo_pairs[pair]))
    for _ in range(50):
        heads = wire().heads([name] * 3, sets, memo_names, memo_pairs, False, 100)
    del heads
    assert (sys.getrefcount(pair), sys.getrefcount(name), sys.getrefcount(memo_pairs[pair])) == before
    assert _grows(lambda: wire().heads([name] * 3, sets, memo_names, memo_pairs, False, 100)) < 4096
    assert _grows(lambda: wire().heads([name] * 3, sets, {}, {}, False, 1)) < 4096


def _grows(call: Any, times: int = 2000) -> int:
    """Bytes still allocated after ``times`` calls of ``call`` beyond those after one."""
    call()
    tracemalloc.start()
    try:
        call()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(times):
            call()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


# -- a tile of known series ---------------------------------------------------------------------

FAMILIES = [Family("a", "gauge"), Family("b", "counter"), Family("a", "gauge")]  # two equal, not one
STAMPS = [IN_HEAD, IN_HEAD + 7, 2**35, 2**35 - 1, 2**42 - 1, 2**42, 0, -5, 2**63 - 1, 2**63, -(2**63) - 1]


@st.composite
def cycles(draw: st.DrawFn) -> tuple[list[Sample], dict[int, Encoding]]:
    """A cycle's samples and the sink's memory before it: series known (heads), refused
    (reasons), new and repeated, at timestamps in and out of a head's range and of int64."""
    refs = draw(st.integers(1, 30))
    known: dict[int, Encoding] = {}
    for ref in range(refs):
        kind = draw(st.sampled_from(["head", "head", "head", "reason", "new"]))
        if kind == "head":
            known[ref] = series_head(LabelEncoder().labels(f"m{ref % 7}", (("i", str(ref)),)))  # type: ignore[arg-type]
        elif kind == "reason":
            known[ref] = "invalid_metric_name"
    one_stamp = draw(st.sampled_from([IN_HEAD, None]))
    samples = [
        Sample(
            f"m{ref % 7}" if ref % 5 else "bad-name",
            (("i", str(ref)),),
            draw(st.sampled_from([1.0, STALE_NAN, -0.0])),
            one_stamp if one_stamp is not None else draw(st.sampled_from(STAMPS)),
            draw(st.sampled_from(FAMILIES)),
            ref,
        )
        for ref in draw(st.lists(st.integers(0, refs - 1), max_size=60))
    ]
    return samples, known


def _grouped(samples: list[Sample], known: dict[int, Encoding]) -> tuple[SeriesSet, dict[int, Encoding]]:
    memory = dict(known)
    encoder = LabelEncoder()

    def encode(new: Sequence[Sample]) -> list[Encoding]:
        return encoder.heads([s.name for s in new], [s.labels for s in new])

    return to_series(samples, memory, encode), memory


def _same_sets(found: SeriesSet, expected: SeriesSet) -> None:
    assert found.series == expected.series
    assert (found.samples, found.dropped) == (expected.samples, expected.dropped)
    assert list(map(id, found.families)) == list(map(id, expected.families))  # the same objects, in order
    assert (found.columns is None) == (expected.columns is None)
    if found.columns is not None and expected.columns is not None:
        assert found.columns.heads == expected.columns.heads
        assert list(map(id, found.columns.samples)) == list(map(id, expected.columns.samples))


@DRAWS
@given(cycle=cycles(), tile=st.sampled_from([1, 3, 7, 2048]))
def test_grouping_is_the_references(cycle: tuple[list[Sample], dict[int, Encoding]], tile: int) -> None:
    """Tiles of known series taken by the kernel and tiles of new or refused ones by Python,
    side by side: the same series, drops, families, heads and memory."""
    samples, known = cycle
    with patch.object(convert, "TILE", tile):
        found, memory = _grouped(samples, known)
        with python_only():
            expected, expected_memory = _grouped(samples, known)
    _same_sets(found, expected)
    assert memory == expected_memory


def _tile(*stamps: object, ref: int = 1) -> list[Sample]:
    return [Sample("m", (), 1.0, stamp, FAMILIES[0], ref) for stamp in stamps]  # type: ignore[arg-type]


class _Sample(Sample):
    __slots__ = ()


@pytest.mark.parametrize(
    "tile",
    [
        [],
        _tile(IN_HEAD, 2**63),  # beyond int64
        _tile(IN_HEAD, True),
        _tile(IN_HEAD, 1.5e12),
        _tile(IN_HEAD, ref=2),  # a new series
        _tile(IN_HEAD, ref=3),  # a refused one
        _tile(IN_HEAD, ref=4),  # bytes of another type
        [*_tile(IN_HEAD), ("m", (), 1.0, IN_HEAD, FAMILIES[0], 1)],  # not a Sample
        [*_tile(IN_HEAD), _Sample(*_tile(IN_HEAD)[0])],
        [tuple.__new__(Sample, ("m", (), 1.0, IN_HEAD, FAMILIES[0]))],  # a short row
        [Sample("m", (), 1.0, IN_HEAD, FAMILIES[0], True)],  # the ref a bool
    ],
    ids=[
        "empty",
        "int64",
        "bool",
        "float",
        "new",
        "refused",
        "bytearray",
        "tuple",
        "subclass",
        "short",
        "ref",
    ],
)
def test_a_tile_outside_the_fast_path_is_handed_back_untouched(tile: list[Sample]) -> None:
    known: dict[object, object] = {1: b"head", 3: "write_relabel", 4: bytearray(b"head")}
    runs: list[Family] = []
    stamps: set[int] = set()
    assert wire().known(tile, known, runs, stamps, Sample) is None
    assert (runs, stamps) == ([], set())


def test_a_tile_of_known_series_in_one_pass() -> None:
    head = b"head"
    times = [IN_HEAD + 5, IN_HEAD, 2**63 - 1, -(2**63)]
    tile = [Sample("m", (), 1.0, t, f, 1) for t, f in zip(times, FAMILIES + FAMILIES[:1], strict=True)]
    runs: list[Family] = [FAMILIES[1]]
    stamps = {7}
    before = sys.getrefcount(head)
    found = wire().known(tuple(tile), {1: head}, runs, stamps, Sample)
    assert found == [head] * 4 and all(entry is head for entry in found)
    a, b, other_a = FAMILIES
    assert list(map(id, runs)) == list(map(id, [b, a, b, other_a, a]))  # by identity: a and other_a are equal
    assert stamps == {7, -(2**63), 2**63 - 1}
    assert sys.getrefcount(head) == before + 4
    del found
    assert sys.getrefcount(head) == before
    handed_back = [*tile, *_tile(IN_HEAD, ref=2)]
    for _ in range(20):
        assert wire().known(handed_back, {1: head}, [], set(), Sample) is None
    assert sys.getrefcount(head) == before
    assert _grows(lambda: wire().known(tile, {1: head}, [], set(), Sample)) < 4096


# -- a request's bytes --------------------------------------------------------------------------

_DOUBLE = struct.Struct("<d")
doubles = st.one_of(
    st.floats(),
    st.integers(0, 2**64 - 1).map(lambda bits: _DOUBLE.unpack(bits.to_bytes(8, "little"))[0]),  # NaN payloads
    st.sampled_from([STALE_NAN, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, float("inf"), float("-inf")]),
)
stamps = st.one_of(
    st.integers(2**35, 2**42 - 1),
    st.sampled_from([2**35, 2**42 - 1, 2**35 - 1, 2**42, 0, -1, 2**63 - 1, 2**63, -(2**63) - 1]),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[bytes], list[Sample]]:
    size = draw(st.integers(0, 30))
    heads = draw(st.lists(st.binary(max_size=300), min_size=size, max_size=size))
    family = Family("m")
    samples = [
        Sample("m", (), draw(doubles), draw(stamps) if draw(st.booleans()) else IN_HEAD, family, index)
        for index in range(size)
    ]
    return heads, samples


def _encoded(heads: Sequence[bytes], samples: Sequence[Sample]) -> bytes | type[Exception]:
    try:
        return encode_heads(heads, samples)
    except (ValueError, OverflowError, struct.error) as exc:
        return type(exc)


@DRAWS
@given(request=requests())
@example(request=([b"h"], [Sample("m", (), STALE_NAN, 2**35, Family("m"), 1)]))
@example(request=([b"h"], [Sample("m", (), 1.0, 2**42, Family("m"), 1)]))
@example(request=([b"h"], [Sample("m", (), 1.0, 2**35 - 1, Family("m"), 1)]))
def test_requests_are_the_references(request: tuple[list[bytes], list[Sample]]) -> None:
    """Any double's bits (the staleness marker's, a NaN's payload, -0.0, subnormals), timestamps
    at and past the ends of a head's range: the same bytes, or the same error."""
    heads, samples = request
    found = wire().columns(heads, samples, Sample)
    with python_only():
        expected = _encoded(heads, samples)
    assert _encoded(heads, samples) == expected
    in_range = all(2**35 <= s.timestamp_ms < 2**42 for s in samples)
    assert (found is not None) == in_range
    if found is not None:
        reference = encode_columns(heads, [s.timestamp_ms for s in samples], [s.value for s in samples])
        assert found == expected == reference


class _Float(float):
    pass


@pytest.mark.parametrize(
    ("heads", "values"),
    [
        ([b"h"], [_Float(2.5)]),  # packed by the Python path as its float
        ([b"h"], [3]),  # an int: the same
        ([bytearray(b"h")], [1.0]),
        ([b"h", b"i"], [1.0]),  # lengths differ: the reference joins the shorter
    ],
    ids=["float-subclass", "int", "bytearray", "lengths"],
)
def test_a_request_outside_the_fast_path_is_made_by_python(heads: list[bytes], values: list[Any]) -> None:
    samples = [Sample("m", (), value, IN_HEAD, Family("m"), 1) for value in values]
    assert wire().columns(heads, samples, Sample) is None
    with python_only():
        expected = encode_heads(heads, samples)
    assert encode_heads(heads, samples) == expected


def test_the_staleness_marker_keeps_its_bits() -> None:
    body = wire().columns([b"h"], [Sample("m", (), STALE_NAN, IN_HEAD, Family("m"), 1)], Sample)
    assert body[1:9] == STALE_BITS.to_bytes(8, "little")


def test_requests_leave_no_references_behind() -> None:
    head = b"h" * 100
    samples = [Sample("m", (), 1.0, IN_HEAD, Family("m"), 1)] * 3
    outside = [*samples, Sample("m", (), 1.0, 2**42, Family("m"), 1)]
    before = sys.getrefcount(head)
    for _ in range(20):
        wire().columns([head] * 3, samples, Sample)
        wire().columns([head] * 4, outside, Sample)
    assert sys.getrefcount(head) == before
    assert _grows(lambda: wire().columns([head] * 3, samples, Sample)) < 4096


# -- the whole sink -----------------------------------------------------------------------------


def _requests(case: Case) -> list[Any]:
    context = replace(build_context(), name_escaping=case.escaping)
    sink = RemoteWriteSink(_config(case.config), context)
    fleet = Fleet(case)
    out: list[Any] = []
    for number in range(case.cycles):
        report = SinkReport(sink.name, sink.kind)
        prepared = sink.prepare(fleet.cycle(number), report)
        bodies = [(r.samples, r.chain, r.durable, r.body()) for r in prepared.requests]
        out.append((sorted(report.dropped.items()), bodies))
        sink.forget([ref for key, ref in fleet.refs.items() if key[0] == 0 and ref % 5 == number % 5])
    return out


@pytest.mark.parametrize("seed", range(6))
def test_requests_with_the_kernel_and_without(seed: int) -> None:
    """The sink's requests over cycles of varied fleets, kernel on and off: every byte."""
    names = sorted(CASES)
    case = replace(CASES[names[seed * 5 % len(names)]], seed=100 + seed, cycles=2)
    found = _requests(case)
    with python_only():
        assert found == _requests(case)
