"""Hand-written cases for every rule of the parser (issue 3, points 1-3), table-driven.

Where Prometheus 2.42 and the formats' specs were checked against the real server, the case
says so; the stricter-than-Prometheus rules are marked ``stricter``.
"""

from __future__ import annotations

import math

import pytest
from scrape_push.model import Exemplar, Family, Sample
from scrape_push.parse import OPENMETRICS, ParseError, format_for
from scrape_push.scrape import SeriesCache

from tests.support.parsing import parse_exposition

TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def series(data: bytes, content_type: str = TEXT) -> list[tuple[str, dict[str, str], float, int | None]]:
    return [(s.name, dict(s.labels), s.value, s.timestamp_ms) for s in parse_exposition(data, content_type)]


VALID = [
    # name, content type, exposition, expected (name, labels, value, timestamp_ms)
    ("plain sample", TEXT, b"a 1\n", [("a", {}, 1.0, None)]),
    ("labels sorted", TEXT, b'a{z="1",b="2"} 3\n', [("a", {"b": "2", "z": "1"}, 3.0, None)]),
    ("trailing comma text", TEXT, b'a{x="1",} 1\n', [("a", {"x": "1"}, 1.0, None)]),
    ("empty braces", TEXT, b"a{} 1\n", [("a", {}, 1.0, None)]),
    ("empty label value dropped", TEXT, b'a{x="",y="1"} 1\n', [("a", {"y": "1"}, 1.0, None)]),
    ("empty label value dropped om", OM, b'a{x=""} 1\n# EOF\n', [("a", {}, 1.0, None)]),
    ("escapes", TEXT, b'a{x="q\\"b\\\\n\\n"} 1\n', [("a", {"x": 'q"b\\n\n'}, 1.0, None)]),
    ("escapes om", OM, b'a{x="q\\"b\\\\n\\n"} 1\n# EOF\n', [("a", {"x": 'q"b\\n\n'}, 1.0, None)]),
    ("text timestamp is ms", TEXT, b"a 1 1700000000123\n", [("a", {}, 1.0, 1700000000123)]),
    ("om timestamp is seconds", OM, b"a 1 1700000000.123\n# EOF\n", [("a", {}, 1.0, 1700000000123)]),
    ("om timestamp truncated", OM, b"a 1 1.0009\n# EOF\n", [("a", {}, 1.0, 1000)]),
    ("om negative timestamp", OM, b"a 1 -1.5\n# EOF\n", [("a", {}, 1.0, -1500)]),
    (
        "text whitespace and tabs",
        TEXT,
        b'a\t{ x = "1" ,y="2" }\t1  \n',
        [("a", {"x": "1", "y": "2"}, 1.0, None)],
    ),
    ("text commas optional", TEXT, b'a{x="1" y="2"} 1\n', [("a", {"x": "1", "y": "2"}, 1.0, None)]),
    ("text value right after brace", TEXT, b'a{x="1"}1\n', [("a", {"x": "1"}, 1.0, None)]),
    ("blank lines text", TEXT, b"a 1\n\n   \nb 2\n", [("a", {}, 1.0, None), ("b", {}, 2.0, None)]),
    ("no final newline text", TEXT, b"a 1", [("a", {}, 1.0, None)]),
    ("eof without newline", OM, b"a 1\n# EOF", [("a", {}, 1.0, None)]),
    ("comments text", TEXT, b"# hello\n#TYPE a counter\n# HELP\na 1\n", [("a", {}, 1.0, None)]),
    ("colon in name", TEXT, b"a:b 1\n", [("a:b", {}, 1.0, None)]),
    ("empty body", TEXT, b"", []),
    ("om only eof", OM, b"# EOF\n", []),
    ("nul in label value", TEXT, b'a{x="\x00"} 1\n', [("a", {"x": "\x00"}, 1.0, None)]),
    ("multi-line label value", TEXT, b'a{x="l1\\nl2"} 1\n', [("a", {"x": "l1\nl2"}, 1.0, None)]),
]


@pytest.mark.parametrize(
    ("content_type", "data", "expected"), [case[1:] for case in VALID], ids=[c[0] for c in VALID]
)
def test_valid(
    content_type: str, data: bytes, expected: list[tuple[str, dict[str, str], float, int | None]]
) -> None:
    assert series(data, content_type) == expected


FLOATS = [
    ("1", 1.0),
    ("-1.5", -1.5),
    ("1e3", 1000.0),
    ("1E+3", 1000.0),
    ("1.5e-3", 0.0015),
    (".5", 0.5),
    ("5.", 5.0),
    ("-0", -0.0),
    ("+Inf", math.inf),
    ("-Inf", -math.inf),
    ("Inf", math.inf),
    ("inf", math.inf),
    ("INF", math.inf),
    ("-infinity", -math.inf),
    ("+iNf", math.inf),
]


@pytest.mark.parametrize("content_type", [TEXT, OM])
@pytest.mark.parametrize(("spelling", "value"), FLOATS)
def test_float_spellings(content_type: str, spelling: str, value: float) -> None:
    data = f"a {spelling}\n".encode() + (b"# EOF\n" if content_type == OM else b"")
    assert series(data, content_type) == [("a", {}, value, None)]


@pytest.mark.parametrize("spelling", ["NaN", "nan", "NAN"])
def test_nan_spellings(spelling: str) -> None:
    (sample,) = parse_exposition(f"a {spelling}\n".encode(), TEXT)
    assert math.isnan(sample.value)


INVALID = [
    # name, content type, exposition, line, reason fragment
    ("duplicate label", TEXT, b'a 1\na{x="1",x="2"} 1\n', 2, 'label name "x" is not unique'),
    ("duplicate label om", OM, b'a{x="1",x="2"} 1\n# EOF\n', 1, "not unique"),
    ("duplicate label in plain block", TEXT, b'a{x="1",y="2"} 1\na{x="1",x="2"} 1\n', 2, "not unique"),
    ("__name__ label", TEXT, b'a{__name__="b"} 1\n', 1, "__name__"),
    ("unterminated quote", TEXT, b'a{x="1} 1\n', 1, "unterminated"),
    ("unterminated quote om", OM, b'b 1\na{x="1} 1\n# EOF\n', 2, "unterminated"),
    ("bad float", TEXT, b"a 1x\n", 1, "invalid float"),
    ("signed nan", TEXT, b"a +nan\n", 1, "invalid float"),
    ("underscore float", TEXT, b"a 1_0\n", 1, "invalid float"),
    ("hex float", TEXT, b"a 0x1p3\n", 1, "invalid float"),
    ("float overflow", TEXT, b"a 1e400\n", 1, "out of range"),
    ("non-ascii digits", TEXT, "a \u0661\n".encode(), 1, "invalid float"),
    ("carriage return", TEXT, b"a 1\r\n", 1, "invalid float"),
    ("bad float in plain block", TEXT, b'a{x="1"} 1\na{x="2"} 1_0\n', 2, "invalid float"),
    ("negative text timestamp", TEXT, b"a 1 -5\n", 1, "invalid timestamp"),
    ("float text timestamp", TEXT, b"a 1 1.5\n", 1, "invalid timestamp"),
    ("nan om timestamp", OM, b"a 1 NaN\n# EOF\n", 1, "invalid timestamp"),
    ("invalid text type", TEXT, b"# TYPE a unknown\na 1\n", 1, "invalid metric type"),
    ("invalid om type", OM, b"# TYPE a untyped\n# EOF\n", 1, "invalid metric type"),
    ("type with trailing space", TEXT, b"# TYPE a counter \n", 1, "invalid metric type"),
    ("missing eof", OM, b"a 1\n", 1, "does not end with # EOF"),
    ("data after eof", OM, b"a 1\n# EOF\nb 1\n", 3, "after # EOF"),
    ("blank line om", OM, b"a 1\n\n# EOF\n", 2, "empty line"),
    ("plain comment om", OM, b"# hello\n# EOF\n", 1, "invalid comment"),
    ("tab om", OM, b"a\t1\n# EOF\n", 1, "exactly one space"),
    ("trailing space om", OM, b"a 1 \n# EOF\n", 1, "invalid"),
    ("unit not a suffix", OM, b"# UNIT u seconds\n# EOF\n", 1, "not a suffix"),
    ("trailing comma om", OM, b'a 1\na{x="1",} 1\n# EOF\n', 2, "invalid"),
    ("missing comma om", OM, b'a{x="1" y="2"} 1\n# EOF\n', 1, "invalid"),
    ("leading whitespace", TEXT, b"  a 1\n", 1, "starts with whitespace"),
    ("missing value", TEXT, b'a{x="1"}\n', 1, "expected a value"),
    ("bad metric name", TEXT, b"1a 1\n", 1, "invalid metric name"),
    ("bad label name", TEXT, b'a{x:y="1"} 1\n', 1, "invalid label set"),
    ("invalid utf-8", TEXT, b'a 1\nb{x="\xff"} 1\n', 2, "invalid UTF-8"),
    ("bad exemplar value", OM, b'a_total 1 # {t="x"} y\n# EOF\n', 1, "exemplar"),
    # found by fuzzing (tests/unit/parse/test_fuzz.py, issue 12): each raised another error
    # than ParseError, gave Python's own message, or was wrapped later by a sink
    ("text timestamp of 5000 digits", TEXT, b"a 1 " + b"9" * 5000 + b"\n", 1, "timestamp '9999"),
    # (issue 15) read as one chunk, the HELP's quote opened a value that the sample line closed
    ("quote in an indented HELP", TEXT, b' # HELP a "\na{a="\\",} 0 0\n', 2, "unterminated"),
]


@pytest.mark.parametrize(
    ("content_type", "data", "line", "reason"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(content_type: str, data: bytes, line: int, reason: str) -> None:
    for strict in (False, True):
        with pytest.raises(ParseError) as caught:
            parse_exposition(data, content_type, SeriesCache(), strict=strict)  # the scrape stage's
        assert caught.value.line == line
        assert reason in caught.value.reason
        assert str(caught.value).startswith(f"line {line}: ")


STRICT = [
    # (name, content type, body, line, reason): refused with ``strict``, accepted by default as
    # Prometheus 2.42 accepts it (tests/unit/parse/test_prometheus_242.py has what it gives)
    ("unknown escape", TEXT, b'a{x="\\q"} 1\n', 1, "invalid escape sequence '\\\\q'"),
    ("unknown escape om", OM, b'a{x="\\t"} 1\n# EOF\n', 1, "invalid escape sequence"),
    ("sample before its TYPE", TEXT, b"a 1\n# TYPE a counter\n", 2, "comes after its sample"),
    ("conflicting TYPE", TEXT, b"# TYPE a counter\na 1\n# TYPE a gauge\n", 3, "conflicts"),
    (
        "bucket before histogram TYPE",
        OM,
        b'h_bucket{le="1"} 1\n# TYPE h histogram\n# EOF\n',
        2,
        "comes after",
    ),
    ("invalid UTF-8 in a comment", TEXT, b"# caf\xe9\na 1\n", 1, "invalid UTF-8 at byte 5"),
    # found by fuzzing (issue 12); Prometheus 2.42 keeps the scrape and stores no such sample
    ("om timestamp overflows ms", OM, b"a 1 1.8e305\n# EOF\n", 1, "timestamp '1.8e305' out of range"),
    ("om exemplar timestamp overflows", OM, b'a_total 1 # {t="x"} 1 1e306\n# EOF\n', 1, "exemplar: time"),
    ("om timestamp beyond int64 ms", OM, b"a 1 9.3e15\n# EOF\n", 1, "out of range"),
    ("om negative timestamp beyond int64 ms", OM, b"a 1 -9.3e15\n# EOF\n", 1, "out of range"),
    ("om exemplar timestamp beyond int64", OM, b'a_total 1 # {t="x"} 1 -1e16\n# EOF\n', 1, "out of range"),
]


@pytest.mark.parametrize(
    ("content_type", "data", "line", "reason"), [case[1:] for case in STRICT], ids=[c[0] for c in STRICT]
)
def test_strict_refuses_what_only_the_spec_forbids(
    content_type: str, data: bytes, line: int, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_exposition(data, content_type, strict=True)
    assert (caught.value.line, reason in caught.value.reason) == (line, True), caught.value
    assert parse_exposition(data, content_type)  # accepted by default, as by Prometheus 2.42


def test_no_line_length_limit() -> None:
    """The parser sets no line limit of its own: the scrape's body_size_limit bounds a body."""
    value = "v" * 1_000_000
    (sample,) = parse_exposition(f'a{{x="{value}"}} 1\n'.encode(), TEXT)
    assert sample.labels == (("x", value),)


def test_families_text() -> None:
    data = (
        b"# HELP req_total Requests \\\\ handled\\nok \\q\n# TYPE req_total counter\n"
        b'req_total{code="200"} 3\n'
        b'# TYPE lat histogram\nlat_bucket{le="0.5"} 1\nlat_bucket{le="+Inf"} 2\nlat_sum 0.7\nlat_count 2\n'
        b'# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n'
        b"other 1\n"
    )
    got = [(s.name, s.family) for s in parse_exposition(data, TEXT)]
    req = Family("req_total", "counter", "Requests \\ handled\nok \\q")
    lat, summary = Family("lat", "histogram"), Family("s", "summary")
    assert got == [
        ("req_total", req),
        ("lat_bucket", lat),
        ("lat_bucket", lat),
        ("lat_sum", lat),
        ("lat_count", lat),
        ("s", summary),
        ("s_sum", summary),
        ("s_count", summary),
        ("other", Family("other", "untyped")),
    ]


def test_openmetrics_types_created_and_exemplars() -> None:
    data = (
        b'# TYPE c counter\n# HELP c Calls \\"quoted\\"\n'
        b'c_total 1 # {trace_id="abc"} 1 1.5\nc_created 1700000000.5\n'
        b'# TYPE g gaugehistogram\ng_bucket{le="+Inf"} 1\ng_gcount 1\ng_gsum 2\n'
        b'# TYPE i info\ni_info{v="1"} 1\n'
        b'# TYPE st stateset\nst{st="a"} 1\nst{st="b"} 0\n'
        b"# TYPE u_seconds gauge\n# UNIT u_seconds seconds\nu_seconds 1\n"
        b"x 1\n# EOF\n"
    )
    got = parse_exposition(data, OM)
    assert [s.name for s in got] == [
        "c_total",
        "c_created",
        "g_bucket",
        "g_gcount",
        "g_gsum",
        "i_info",
        "st",
        "st",
        "u_seconds",
        "x",
    ]
    assert got[0].family == Family("c", "counter", 'Calls "quoted"')
    assert got[0].exemplar == Exemplar((("trace_id", "abc"),), 1.0, 1500)
    assert got[1].family is got[0].family and got[1].value == 1700000000.5
    assert {s.family.type for s in got} == {
        "counter",
        "gaugehistogram",
        "info",
        "stateset",
        "gauge",
        "unknown",
    }
    assert got[8].family == Family("u_seconds", "gauge", "", "seconds")
    assert got[9].family == Family("x", "unknown")


def test_text_created_gauges_are_ordinary_series() -> None:
    data = b"# TYPE r_total counter\nr_total 1\n# TYPE r_created gauge\nr_created 1.7e9\n"
    got = parse_exposition(data, TEXT)
    assert [(s.name, s.family.name, s.family.type) for s in got] == [
        ("r_total", "r_total", "counter"),
        ("r_created", "r_created", "gauge"),
    ]


def test_a_sample_is_an_immutable_value_without_scratch_space() -> None:
    (raw,) = parse_exposition(b"a 1\n", TEXT)
    assert (raw.name, raw.labels, raw.value, raw.timestamp_ms, raw.family) == (
        "a",
        (),
        1.0,
        None,
        Family("a", "untyped"),
    )
    sample = Sample("a", (), 1.0, 5, Family("a", "untyped"), 7)
    assert Sample._fields == (
        "name",
        "labels",
        "value",
        "timestamp_ms",
        "family",
        "series",
        "exemplar",
        "histogram",
    )
    with pytest.raises(AttributeError):
        sample.value = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [(OM, True), ("application/openmetrics-text", True), (TEXT, False), (None, False), ("", False)],
)
def test_format_selection(content_type: str | None, expected: bool) -> None:
    assert (format_for(content_type) is OPENMETRICS) is expected
