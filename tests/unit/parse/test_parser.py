"""The line loop (``parse/parser.py``): a cold chunk's sample lines parsed in bulk, whatever the
comment lines between them, give what the run-by-run path gives."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.parse import (
    Chunk,
    Families,
    KnownSeries,
    ParseError,
    PlainTexts,
    body,
    format_for,
    grammar,
    parser,
)

from tests.support.expositions import expositions, mutated

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLD = (
    b"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
    b"# TYPE node_cpu_seconds_total counter\n"
    + b"".join(b'node_cpu_seconds_total{cpu="%d",mode="idle"} %d\n' % (n, n) for n in range(4))
    + b"# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.5\n"
    + b'# a plain comment\n\nuntyped_one{a="",b="x"} NaN\n'
    + b"# TYPE rpc_seconds histogram\n"
    + b"".join(b'rpc_seconds_bucket{le="%s"} %d\n' % (le, n) for n, le in enumerate((b"1", b"+Inf")))
    + b"rpc_seconds_sum 3\nrpc_seconds_count 2\nrpc_seconds_created 1\n"
)


def columns(chunk: Chunk[KnownSeries]) -> tuple[object, ...]:
    """Everything a chunk hands on (NaN values as text, so that equal chunks compare equal)."""
    values = ["NaN" if math.isnan(value) else value for value in chunk.values]
    new = [
        (list(n.at), n.names, n.families, n.contexts, n.shapes, n.labels, n.repeated)
        for n in (chunk.plain, chunk.parsed)
    ]
    return (chunk.keys, chunk.known, values, chunk.timestamps, chunk.exemplars, new, chunk.label_sets)


def outcome(
    data: bytes, content_type: str, strict: bool = False, texts: dict[str, PlainTexts] | None = None
) -> object:
    """Each chunk's columns, the text it keeps and its lines, then the error if any."""
    found: list[object] = []
    try:
        for chunk in format_for(content_type).chunks(data, {}, Families(), strict, texts=texts):
            found.append((columns(chunk), chunk.text_bytes, chunk.first, chunk.span))
    except ParseError as exc:
        partial = None if exc.partial is None else columns(exc.partial)  # type: ignore[arg-type]
        found.append(("error", exc.line, exc.reason, exc.appended, partial))
    return found


@contextmanager
def counted_shapes() -> Iterator[list[int]]:
    """The calls that make label-set shapes (one per pass over label sets, in Python or in the
    kernel), as they are made."""
    calls: list[int] = []
    shapes = grammar.PLAIN_VALUE

    class Counting:
        def sub(self, *args: str) -> str:
            calls.append(1)
            return shapes.sub(*args)

    with ExitStack() as stack:
        stack.enter_context(patch.object(grammar, "PLAIN_VALUE", Counting()))
        if parser._KERNEL is not None:
            label_sets = parser._KERNEL.label_sets

            def counting(*args: object) -> object:
                calls.append(1)
                return label_sets(*args)

            stack.enter_context(patch.object(parser._KERNEL, "label_sets", counting))
        yield calls


def run_by_run(data: bytes, content_type: str, strict: bool = False) -> object:
    with patch.object(parser._Parse, "_all_new", return_value=False):
        return outcome(data, content_type, strict)


@pytest.mark.parametrize(
    "data",
    [
        COLD,
        COLD + b'dup{a="1",a="2"} 1\n',  # a repeated label: read carefully, handed on as Repeated
        COLD + b'esc{a="x\\"y"} 1\n',  # an escape: run by run
        COLD + b"stamped 1 1000\n",  # a timestamp: run by run
        COLD + b"# TYPE node_load1 nonsense\n",  # a comment's error, after samples
        COLD + b"bad{ 1\n",
        b"# only comments\n# TYPE a gauge\n",
    ],
    ids=["cold", "repeated", "escape", "timestamp", "bad-type", "bad-line", "comments"],
)
@pytest.mark.parametrize("chunk_bytes", [1 << 16, 64, 1])
def test_a_cold_chunk_parses_in_bulk_as_run_by_run(data: bytes, chunk_bytes: int) -> None:
    with patch.object(body, "CHUNK_BYTES", chunk_bytes):
        assert outcome(data, TEXT) == run_by_run(data, TEXT)


def test_a_cold_chunk_s_label_set_shapes_are_made_in_one_pass_whatever_its_comment_lines() -> None:
    with counted_shapes() as calls:
        (chunk,) = format_for(TEXT).chunks(COLD, {}, Families())
    assert len(chunk.values) == 11
    assert len(calls) == 1  # run by run: once for each of the 5 runs between comment lines


_NAMES = st.sampled_from(["a", "a_total", "a_bucket", "a_sum", "b", "__name__", "le", "c:d"])
_LABEL = st.tuples(
    st.sampled_from(["x", "y", "le", "__name__", "_z"]), st.sampled_from(["", "1", "v w", "+Inf"])
)
_LINE = st.one_of(
    st.tuples(
        _NAMES, st.lists(_LABEL, max_size=3), st.sampled_from(["1", "NaN", "-Inf", "1e3", "0x1", "1_0"])
    ).map(
        lambda t: t[0] + ("{" + ",".join(f'{k}="{v}"' for k, v in t[1]) + "}" if t[1] else "") + " " + t[2]
    ),
    st.sampled_from(
        ["# TYPE a counter", "# TYPE a histogram", "# HELP a text", "# TYPE b gauge", "# plain", ""]
    ),
)


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(st.lists(_LINE, max_size=30), st.booleans(), st.sampled_from([1 << 16, 64, 1]))
def test_plain_cold_chunks_parse_in_bulk_as_run_by_run(
    lines: list[str], openmetrics: bool, size: int
) -> None:
    data = ("\n".join(lines) + "\n" + ("# EOF\n" if openmetrics else "")).encode()
    content_type = OM if openmetrics else TEXT
    with patch.object(body, "CHUNK_BYTES", size):
        assert outcome(data, content_type) == run_by_run(data, content_type)


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(st.data(), st.booleans(), st.booleans())
def test_fuzzed_cold_chunks_parse_in_bulk_as_run_by_run(
    data: st.DataObject, openmetrics: bool, strict: bool
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(st.one_of(st.just(base), mutated(base)), label="exposition")
    content_type = OM if openmetrics else TEXT
    size = data.draw(st.sampled_from([1 << 16, 64, 1]), label="chunk bytes")
    with patch.object(body, "CHUNK_BYTES", size):
        assert outcome(exposition, content_type, strict) == run_by_run(exposition, content_type, strict)


def test_a_body_whose_series_texts_another_parse_read_is_not_read_again() -> None:
    texts: dict[str, PlainTexts] = {}
    first = outcome(COLD, TEXT, texts=texts)
    again = COLD.replace(b"} 1\n", b"} 7\n")  # other values, the same series
    with counted_shapes() as calls:
        assert outcome(again, TEXT, texts=texts) == outcome(again, TEXT)
    assert len(calls) == 1  # the parse without texts; the one with them read no label set
    assert first == outcome(COLD, TEXT)
    assert set(texts) == {"text 0.0.4"} and len(texts["text 0.0.4"]) == 11


def test_the_series_texts_kept_are_bounded() -> None:
    texts: dict[str, PlainTexts] = {}
    with patch.object(parser, "PLAIN_TEXTS_MAX", 12):
        outcome(COLD, TEXT, texts=texts)  # 11 texts: kept
        outcome(b"".join(b"b%d 1\n" % n for n in range(2)), TEXT, texts=texts)  # 13: not
    assert len(texts["text 0.0.4"]) == 11


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@FUZZ
@given(st.lists(_LINE, max_size=30), st.lists(_LINE, max_size=30), st.booleans(), st.booleans())
def test_what_other_parses_read_changes_nothing_of_a_parse(
    before: list[str], lines: list[str], openmetrics: bool, other_dialect: bool
) -> None:
    texts: dict[str, PlainTexts] = {}
    for first in (lines, before + lines):  # the same series, then among others
        outcome(("\n".join(first) + "\n").encode(), TEXT if openmetrics == other_dialect else OM, texts=texts)
    data = ("\n".join(lines) + "\n" + ("# EOF\n" if openmetrics else "")).encode()
    content_type = OM if openmetrics else TEXT
    assert outcome(data, content_type, texts=texts) == outcome(data, content_type)
