"""A warm chunk, every sample line of it a known series, read in bulk (``_Parse._all_known``)
gives what the run-by-run path gives: the same chunks, metadata state, families table and
errors, whatever the comment lines, the dialect, the mode or what the cache knew."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import count
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrape_push.model import Sample
from scrape_push.parse import Families, ParseError, body, format_for, parser
from scrape_push.relabel import RelabelConfig, compile_rules
from scrape_push.scrape import SeriesCache
from scrape_push.scrape.entries import CommonValues

from tests.support.expositions import expositions, mutated
from tests.unit.parse.test_parser import _LINE, FUZZ, OM, TEXT, columns

NODE = (
    b"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
    b"# TYPE node_cpu_seconds_total counter\n"
    + b"".join(b'node_cpu_seconds_total{cpu="%d",mode="idle"} %d\n' % (n, n) for n in range(4))
    + b"# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\n"
    + b"# HELP node_up Whether it is up.\n# TYPE node_up gauge\nnode_up 1\n"
    + b"# TYPE rpc_seconds histogram\n"
    + b"".join(b'rpc_seconds_bucket{le="%s"} %d\n' % (le, n) for n, le in enumerate((b"1", b"+Inf")))
    + b"rpc_seconds_sum 3\nrpc_seconds_count 2\n"
)
"""A node_exporter-like body: families of a few series, each under its HELP and TYPE."""


AMENDED_LATER = b"# TYPE a gauge\nc 1\n# HELP b y\nd 1\n# HELP a x\na 1\n"
"""``# HELP a x`` read after another family's block: the table remembers what it reads to."""
AMENDING = b"# TYPE a gauge\nc 1\n# HELP a x\na 1\n"
"""The same run after ``a``'s own block, which it then amends (a gauge with a help text), although
every series is known: what the table remembers of it does not hold here."""


def _om(data: bytes) -> bytes:
    return data + b"# EOF\n"


@contextmanager
def run_by_run() -> Iterator[None]:
    with patch.object(parser._Parse, "_all_known", return_value=False):
        yield


def _table(families: Families) -> object:
    """What a parse may leave in the families table, by value."""
    return set(families), {dialect: dict(runs) for dialect, runs in families.runs.items()}, families.held


def warm(before: list[bytes], content_type: str, strict: bool = False) -> tuple[SeriesCache, Families]:
    """A series cache that read ``before`` (failed reads included), and a copy of its families
    table for a parse to start from."""
    cache = SeriesCache()
    for scrape_ms, first in enumerate(before):
        with suppress(ParseError):
            list(cache.read(first, content_type, 1000 + scrape_ms, strict=strict))
    return cache, cache.families.copy()


def outcome(known: SeriesCache, families: Families, data: bytes, content_type: str, strict: bool) -> object:
    """Each chunk's columns, its text and lines, then the error if any, then the table."""
    found: list[object] = []
    try:
        for chunk in format_for(content_type).chunks(data, known.entries, families, strict):
            found.append((columns(chunk), chunk.text_bytes, chunk.first, chunk.span))
    except ParseError as exc:
        partial = None if exc.partial is None else columns(exc.partial)  # type: ignore[arg-type]
        found.append(("error", exc.line, exc.reason, exc.appended, partial))
    found.append(_table(families))
    return found


def both(before: list[bytes], data: bytes, content_type: str, strict: bool = False) -> tuple[object, object]:
    """``data`` parsed warm after ``before``, in bulk and run by run, from equal states."""
    cache, families = warm(before, content_type, strict)
    bulk = outcome(cache, families.copy(), data, content_type, strict)
    with run_by_run():
        return bulk, outcome(cache, families.copy(), data, content_type, strict)


CASES = [
    ("unchanged", [NODE], NODE.replace(b"} 1\n", b"} 7\n"), TEXT),
    ("openmetrics", [_om(NODE)], _om(NODE.replace(b" 0.5\n", b" 1.5\n")), OM),
    ("a value Prometheus refuses", [NODE], NODE.replace(b"node_up 1", b"node_up 1_0"), TEXT),
    ("a hex value", [NODE], NODE.replace(b"node_up 1", b"node_up 0x1"), TEXT),
    ("NaN and Inf", [NODE], NODE.replace(b"node_up 1", b"node_up NaN").replace(b"0.5", b"-Inf"), TEXT),
    ("a new series", [NODE], NODE + b"node_new 1\n", TEXT),
    ("a timestamp", [NODE], NODE.replace(b"node_up 1", b"node_up 1 1000"), TEXT),
    ("not UTF-8", [NODE], NODE.replace(b"load average", b"load \xff average"), TEXT),
    ("not UTF-8 in a value", [NODE], NODE.replace(b'mode="idle"', b'mode="\xff"'), TEXT),
    # what the block of a known series is changed, moved or amended
    ("another HELP", [NODE], NODE.replace(b"1m load", b"One-minute load"), TEXT),
    ("another TYPE", [NODE], NODE.replace(b"node_up gauge", b"node_up counter"), TEXT),
    (
        "a known series under another block",
        [NODE],
        NODE.replace(
            b"node_load1 0.5\n# HELP node_up Whether it is up.\n", b"# HELP node_up Whether it is up.\n"
        )
        + b"node_load1 0.5\n",
        TEXT,
    ),
    (
        "a TYPE that contradicts an earlier one",
        [NODE + b"# TYPE node_up counter\nnode_up_total 1\n"],
        NODE + b"# TYPE node_up counter\nnode_up_total 2\n",
        TEXT,
    ),
    (
        "a family split and repeated",
        [NODE + b"# TYPE rpc_seconds histogram\nrpc_seconds_created 1\n"],
        NODE + b"# TYPE rpc_seconds histogram\nrpc_seconds_created 2\n",
        TEXT,
    ),
    (
        "a run that amends the block before it",
        [NODE + b"# HELP rpc_seconds Late help.\nrpc_seconds_created 1\n"],
        NODE + b"# HELP rpc_seconds Late help.\nrpc_seconds_created 2\n",
        TEXT,
    ),
    (
        "a remembered run that amends the block before it",
        [AMENDED_LATER],
        AMENDING,
        TEXT,
    ),
    ("plain comments and blank lines", [NODE + b"# plain\n\nx 1\n"], NODE + b"# plain\n\nx 2\n", TEXT),
    (
        "a blank line in a block",
        [NODE + b"# HELP x y\n\n# TYPE x gauge\nx 1\n"],
        NODE + b"# HELP x y\n\n# TYPE x gauge\nx 2\n",
        TEXT,
    ),
    ("an indented comment", [NODE + b"  # HELP x y\nx 1\n"], NODE + b"  # HELP x y\nx 2\n", TEXT),
    ("a bad TYPE after known series", [NODE], NODE + b"# TYPE node_up nonsense\n", TEXT),
    ("a bad line after known series", [NODE], NODE + b"node_up{ 1\n", TEXT),
    ("a blank line (OpenMetrics)", [_om(NODE)], _om(NODE.replace(b"node_up 1\n", b"node_up 1\n\n")), OM),
    ("a plain comment (OpenMetrics)", [_om(NODE)], _om(NODE + b"# plain\n"), OM),
    ("a comment on the last line", [NODE], NODE + b"# HELP z Last.\n", TEXT),
    ("the cache of the other dialect", [_om(NODE)], NODE, TEXT),
]


@pytest.mark.parametrize(
    ("before", "data", "content_type"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1 << 16, 64, 1])
def test_a_warm_chunk_parses_in_bulk_as_run_by_run(
    before: list[bytes], data: bytes, content_type: str, strict: bool, chunk_bytes: int
) -> None:
    with patch.object(body, "CHUNK_BYTES", chunk_bytes):
        bulk, runs = both(before, data, content_type, strict)
    assert bulk == runs


@pytest.mark.parametrize("chunk_bytes", [1 << 16, 19])  # 19: a chunk that starts with the run
def test_a_remembered_run_that_amends_the_block_before_it_is_read_again(chunk_bytes: int) -> None:
    with patch.object(body, "CHUNK_BYTES", chunk_bytes):
        bulk, runs = both([AMENDED_LATER], AMENDING, TEXT)
    assert bulk == runs
    last = bulk[-2][0]  # type: ignore[index]  # the last chunk's columns
    assert last[0][-1] == "a" and last[1][-1] is None  # a gauge with a help text now: a new series


@contextmanager
def counted(*names: str) -> Iterator[dict[str, int]]:
    """Calls of ``_Parse`` methods ``names``, by name."""
    calls = dict.fromkeys(names, 0)
    originals = {name: getattr(parser._Parse, name) for name in names}

    def counting(name: str) -> object:
        def method(self: object, *args: object) -> object:
            calls[name] += 1
            return originals[name](self, *args)

        return method

    with patch.multiple(parser._Parse, **{name: counting(name) for name in names}):
        yield calls


def test_a_warm_chunk_of_known_series_is_read_in_bulk() -> None:
    data = NODE.replace(b"} 1\n", b"} 7\n")
    cache, families = warm([NODE], TEXT)
    with counted("_run", "_comments", "_line") as calls:
        (chunk,) = format_for(TEXT).chunks(data, cache.entries, families)
    assert calls == {"_run": 0, "_comments": 0, "_line": 0}  # run by run: 4 runs of samples, 4 of comments
    assert chunk.known == [cache.entries[key] for key in chunk.keys] and len(chunk.keys) == 10
    assert not chunk.plain.at and not chunk.parsed.at


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (NODE + b"node_new 1\n", "a new series"),
        (NODE.replace(b"1m load", b"Load"), "a run the table has not read"),
        (NODE.replace(b"node_up gauge", b"node_up counter"), "a known series under another block"),
    ],
)
def test_a_chunk_the_bulk_path_cannot_take_is_read_run_by_run(data: bytes, why: str) -> None:
    cache, families = warm([NODE], TEXT)
    with counted("_run") as calls:
        list(format_for(TEXT).chunks(data, cache.entries, families))
    assert calls["_run"] == 4, why  # one per run of samples


def test_a_value_that_is_not_finite_is_checked_alone() -> None:
    texts = ["1", "NaN", "2.5", "+Inf", "3"]
    values = list(map(float, texts))
    with patch.object(parser.grammar, "parse_float", wraps=parser.grammar.parse_float) as checked:
        assert parser.grammar.check_floats(texts, values) == -1
    assert [call.args[0] for call in checked.call_args_list] == ["NaN", "+Inf"]  # before: all five


# -- the series cache around it: what it knew, evicted, replaced or let go --------------------


def _view(sample: Sample) -> tuple[object, ...]:
    return (sample.name, sample.labels, repr(sample.value), sample.timestamp_ms, sample.family, sample.series)


def _scrapes(cache: SeriesCache, bodies: list[bytes], content_type: str = TEXT) -> list[object]:
    """What the cache makes of ``bodies`` one scrape after the other, and its state after each."""
    found: list[object] = []
    for scrape_ms, data in enumerate(bodies):
        try:
            samples = [_view(s) for chunk in cache.read(data, content_type, 1000 * scrape_ms) for s in chunk]
        except ParseError as exc:
            samples = [("error", exc.line, exc.reason)]
        found.append((samples, cache.added, sorted(cache.entries), len(cache.families)))
    return found


def _alike(make: type[SeriesCache] | object, bodies: list[bytes], content_type: str = TEXT) -> None:
    bulk = _scrapes(make(), bodies, content_type)  # type: ignore[operator]
    with run_by_run():
        assert bulk == _scrapes(make(), bodies, content_type)  # type: ignore[operator]


def test_a_cache_bounded_below_the_body_s_series_reads_alike() -> None:
    _alike(lambda: SeriesCache(refs=count(), max_series=5), [NODE, NODE, NODE.replace(b"0.5", b"2")])


def test_an_evicted_cache_reads_alike() -> None:
    def evicting() -> SeriesCache:
        cache = SeriesCache(refs=count())
        original = cache.read

        def read(*args: object, **kwargs: object) -> object:
            if cache.entries:
                cache.evict()
            return original(*args, **kwargs)  # type: ignore[arg-type]

        cache.read = read  # type: ignore[method-assign]
        return cache

    _alike(evicting, [NODE, NODE, NODE])


def test_a_cache_whose_shared_families_were_let_go_reads_alike() -> None:
    """Emptied, the shared table interns new family objects, equal to those the entries hold."""

    def forgetting() -> SeriesCache:
        common = CommonValues()
        cache = SeriesCache(refs=count(), common=common)
        original = cache.read

        def read(*args: object, **kwargs: object) -> object:
            common.families.clear()
            return original(*args, **kwargs)  # type: ignore[arg-type]

        cache.read = read  # type: ignore[method-assign]
        return cache

    _alike(forgetting, [NODE, NODE, NODE])


def test_a_cache_with_relabeling_reads_alike() -> None:
    rules = compile_rules((RelabelConfig(source_labels=("__name__",), regex="node_up", action="drop"),))
    _alike(lambda: SeriesCache(relabel=rules, refs=count()), [NODE, NODE + b"node_new 1\n", NODE])


def test_a_cache_after_a_failed_scrape_and_a_switch_of_format_reads_alike() -> None:
    bodies = [NODE, NODE + b"bad{ 1\n", NODE, _om(NODE), NODE]
    bulk = _scrapes(SeriesCache(refs=count()), bodies[:3]) + _scrapes(SeriesCache(refs=count()), bodies[3:])
    with run_by_run():
        runs = _scrapes(SeriesCache(refs=count()), bodies[:3]) + _scrapes(
            SeriesCache(refs=count()), bodies[3:]
        )
    assert bulk == runs
    _alike(lambda: SeriesCache(refs=count()), [NODE, _om(NODE), _om(NODE), NODE], TEXT)


# -- generated bodies -------------------------------------------------------------------------

_FAMILY_NAMES = st.sampled_from(["a", "b", "rpc", "c_total"])
_SUFFIXES = st.sampled_from(["", "_total", "_bucket", "_sum", "_count", "_created", "_info"])
_VALUES = st.sampled_from(["0", "1", "2.5", "-1e3", "NaN", "+Inf", "-Inf", "1e308"])
_EXTRA = st.sampled_from(["", "# plain", "# HELP a Other help.", "# TYPE a counter", "  # HELP a x"])


@st.composite
def _families(draw: st.DrawFn) -> list[tuple[list[str], list[str]]]:
    """Blocks of ``# HELP``/``# TYPE`` lines (maybe none), each with a few sample series."""
    blocks = []
    for _ in range(draw(st.integers(1, 6))):
        name = draw(_FAMILY_NAMES)
        comments = []
        if draw(st.booleans()):
            comments.append(f"# HELP {name} {draw(st.sampled_from(['Help.', 'Other help.']))}")
        if draw(st.booleans()):
            comments.append(
                f"# TYPE {name} {draw(st.sampled_from(['counter', 'gauge', 'histogram', 'untyped']))}"
            )
        series = [
            f'{name}{draw(_SUFFIXES)}{{x="{n}"}}' if draw(st.booleans()) else f"{name}{draw(_SUFFIXES)}"
            for n in range(draw(st.integers(0, 4)))
        ]
        blocks.append((comments, series))
    return blocks


def _body(draw: st.DrawFn, blocks: list[tuple[list[str], list[str]]], openmetrics: bool) -> bytes:
    lines: list[str] = []
    seen: set[str] = set()
    for comments, series in blocks:
        lines += comments
        lines += [f"{text} {draw(_VALUES)}" for text in series if not (text in seen or seen.add(text))]
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(_EXTRA))
    return ("\n".join(lines) + "\n" + ("# EOF\n" if openmetrics else "")).encode()


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(_families(), st.data(), st.booleans(), st.booleans())
def test_generated_families_parse_warm_in_bulk_as_run_by_run(
    blocks: list[tuple[list[str], list[str]]], data: st.DataObject, openmetrics: bool, strict: bool
) -> None:
    """The same series again with new values, or their blocks reordered, changed or repeated."""
    content_type = OM if openmetrics else TEXT
    first = _body(data.draw, blocks, openmetrics)
    again = data.draw(st.one_of(st.just(blocks), st.permutations(blocks), st.just(blocks + blocks[:1])))
    if data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(again) - 1))
        again = [
            *again[:index],
            (data.draw(st.lists(_EXTRA, max_size=2)), again[index][1]),
            *again[index + 1 :],
        ]
    second = _body(data.draw, again, openmetrics)
    size = data.draw(st.sampled_from([1 << 16, 64, 1]), label="chunk bytes")
    with patch.object(body, "CHUNK_BYTES", size):
        bulk, runs = both([first], second, content_type, strict)
    assert bulk == runs


@pytest.mark.once
@FUZZ
@given(st.lists(_LINE, max_size=30), st.data(), st.booleans(), st.booleans())
def test_generated_warm_chunks_parse_in_bulk_as_run_by_run(
    lines: list[str], data: st.DataObject, openmetrics: bool, strict: bool
) -> None:
    end = "# EOF\n" if openmetrics else ""
    content_type = OM if openmetrics else TEXT
    first = ("\n".join(lines) + "\n" + end).encode()
    again = data.draw(st.one_of(st.just(lines), st.permutations(lines), st.lists(_LINE, max_size=30)))
    second = ("\n".join(again) + "\n" + end).encode()
    size = data.draw(st.sampled_from([1 << 16, 64, 1]), label="chunk bytes")
    with patch.object(body, "CHUNK_BYTES", size):
        bulk, runs = both([first], second, content_type, strict)
    assert bulk == runs


@pytest.mark.once
@FUZZ
@given(st.data(), st.booleans(), st.booleans())
def test_fuzzed_warm_chunks_parse_in_bulk_as_run_by_run(
    data: st.DataObject, openmetrics: bool, strict: bool
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(st.one_of(st.just(base), mutated(base)), label="exposition")
    content_type = OM if openmetrics else TEXT
    size = data.draw(st.sampled_from([1 << 16, 64, 1]), label="chunk bytes")
    with patch.object(body, "CHUNK_BYTES", size):
        bulk, runs = both([base, base], exposition, content_type, strict)
    assert bulk == runs
