"""What a real Prometheus 2.42 made of each exposition, case by case (issue 15, point 3).

Every case was observed on the Debian 2.42 binary (the lead's research notes on Prometheus,
sections 3.2 and 3.3): either the series it kept, with their labels and values, or ``FAIL``
(the whole scrape lost, ``up 0``). By default the parser must agree on every one; the few that
``strict`` refuses are in test_rules.py's ``STRICT`` table.
"""

from __future__ import annotations

import math
import struct

import pytest
from scrape_push.limits import ScrapeBudget
from scrape_push.parse import ParseError
from scrape_push.scrape import SeriesCache

from tests.support.parsing import parse_exposition

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
FAIL = None

Kept = list[tuple[str, dict[str, str], float]]

TEXT_CASES: list[tuple[str, bytes, Kept | None]] = [
    (
        "escapes: unknown ones kept verbatim",
        b'esc_m{a="x\\qy",b="tab\\tz",c="nl\\nq",d="bs\\\\e",e="quo\\"f"} 1\n',
        [("esc_m", {"a": "x\\qy", "b": "tab\\tz", "c": "nl\nq", "d": "bs\\e", "e": 'quo"f'}, 1.0)],
    ),
    ("unicode escape kept verbatim", b'lb20{a="\\u00e9"} 1\n', [("lb20", {"a": "\\u00e9"}, 1.0)]),
    ("escaped backslash then n", b'lb21{a="\\\\n"} 1\n', [("lb21", {"a": "\\n"}, 1.0)]),
    ("tab in a value", b'lb6{a="x\ty"} 1\n', [("lb6", {"a": "x\ty"}, 1.0)]),
    ("NUL in a value", b'lb13{a="x\x00y"} 1\n', [("lb13", {"a": "x\x00y"}, 1.0)]),
    ("unterminated value", b'lb22{a="x\\"} 1\n', FAIL),
    ("a quote in an indented HELP", b' # HELP a \\\\"\n# a comment\na{a="\\",} 0 0\n', FAIL),
    ("invalid UTF-8 in a value", b'bu_m{a="\xff\xfe"} 1\n', FAIL),
    ("UTF-8 in a value", 'lu_m{a="héllo ☃"} 1\n'.encode(), [("lu_m", {"a": "héllo ☃"}, 1.0)]),
    ("TYPE after the samples", b"ta_m 1\n# TYPE ta_m counter\n", [("ta_m", {}, 1.0)]),
    ("TYPE twice", b"# TYPE tt_m counter\n# TYPE tt_m gauge\ntt_m 1\n", [("tt_m", {}, 1.0)]),
    ("HELP twice", b"# HELP ht_m a\n# HELP ht_m b\nht_m 1\n", [("ht_m", {}, 1.0)]),
    ("invalid UTF-8 in HELP", b"# HELP bh_m \xff bad\nbh_m 1\n", FAIL),
    ("invalid UTF-8 in a plain comment", b"# caf\xe9\nc_m 1\n", [("c_m", {}, 1.0)]),
    # 2.42 skips the byte after a HELP's name and checks only the text after it (fuzz-found)
    ("invalid UTF-8 right after a HELP's name", b"# HELP hx\xc3\\\xc3\xa9\nhx 1\n", [("hx", {}, 1.0)]),
    ("unknown TYPE", b"# TYPE bt_m foo\n", FAIL),
    ("TYPE unknown", b"# TYPE cx16 unknown\n", FAIL),
    ("TYPE info", b"# TYPE cx16 info\n", FAIL),
    ("TYPE in capitals", b"# TYPE cx5 COUNTER\n", FAIL),
    ("TYPE with a trailing blank", b"# TYPE cx8 gauge \n", FAIL),
    ("TYPE with more words", b"# TYPE cx4 counter extra\n", FAIL),
    ("TYPE without a type", b"# TYPE cm4_m\n", FAIL),
    (
        "comments of every kind ignored",
        b"# HELP\n#\n# \n#nospace\n#HELP x y\n# random comment\n# UNIT x s\n# EOF\ncm_m 1\n",
        [("cm_m", {}, 1.0)],
    ),
    ("HELP without text", b"# HELP cm3_m\ncm3_m 1\n", [("cm3_m", {}, 1.0)]),
    ("HELP with a bad name", b"# HELP 1bad y\n", FAIL),
    (
        "le not normalised",
        b'# TYPE cx11 histogram\ncx11_bucket{le="1"} 1\ncx11_count 1\n',
        [("cx11_bucket", {"le": "1"}, 1.0), ("cx11_count", {}, 1.0)],
    ),
    ("name starting with a digit", b"1abc 1\n", FAIL),
    (
        "colons and underscores in names",
        b"a:b_m 1\n:lb29 1\n_lb30 1\n",
        [("a:b_m", {}, 1.0), (":lb29", {}, 1.0), ("_lb30", {}, 1.0)],
    ),
    ("dash in a name", b"a-b 1\n", FAIL),
    ("non-ASCII name", "üm 1\n".encode(), FAIL),
    ("byte order mark", b"\xef\xbb\xbfbom 1\n", FAIL),
    ("label name starting with a digit", b'ln_m{1a="x"} 1\n', FAIL),
    ("dot in a label name", b'ln3_m{a.b="1"} 1\n', FAIL),
    (
        "reserved label names allowed",
        b'ln2_m{__x="1"} 1\nlb32{_="1"} 1\nlb28{le="1"} 1\n',
        [("ln2_m", {"__x": "1"}, 1.0), ("lb32", {"_": "1"}, 1.0), ("lb28", {"le": "1"}, 1.0)],
    ),
    ("duplicate label", b'dl_m{a="1",a="2"} 1\n', FAIL),
    ("duplicate label, same value", b'lb26{a="1",a="1"} 1\n', FAIL),
    # a name with an empty value loses every label of that name, before the repeat check
    ("duplicate label, one empty", b'b{x="",x="2"} 1\n', [("b", {}, 1.0)]),
    ("duplicate label, empty last", b'a{x="1",y="2",x=""} 1\n', [("a", {"y": "2"}, 1.0)]),
    ("duplicate label, both empty", b'b{x="",x=""} 1\n', [("b", {}, 1.0)]),
    ("__name__ empty in braces", b'b{__name__=""} 1\n', FAIL),
    ("__name__ in braces", b'lb25{__name__="other"} 1\n', FAIL),
    ("empty value dropped", b'el_m{a="",b="1"} 1\n', [("el_m", {"b": "1"}, 1.0)]),
    ("trailing comma", b'tc_m{a="1",} 1\n', [("tc_m", {"a": "1"}, 1.0)]),
    ("no comma", b'lb1{a="1" b="2"} 1\n', [("lb1", {"a": "1", "b": "2"}, 1.0)]),
    ("double comma", b'lb2{a="1",,b="2"} 1\n', FAIL),
    ("leading comma", b'lb3{,a="1"} 1\n', FAIL),
    ("two closing braces", b'lb19{a="1"}} 1\n', FAIL),
    (
        "blanks anywhere between tokens",
        b'eb_m{} 1\nls_m {a="1"} 1\nlb18{a ="1"} 1\nlb17{a="1", b="2"} 1\nlb4{a="1"}1\nlb10{a="1"}\t1\n',
        [
            ("eb_m", {}, 1.0),
            ("ls_m", {"a": "1"}, 1.0),
            ("lb18", {"a": "1"}, 1.0),
            ("lb17", {"a": "1", "b": "2"}, 1.0),
            ("lb4", {"a": "1"}, 1.0),
            ("lb10", {"a": "1"}, 1.0),
        ],
    ),
    (
        "trailing blanks",
        b"lb11\t2\t\nlb12  3  \ntsp_m 1  1000\nlb23 1 1 \n",
        [("lb11", {}, 2.0), ("lb12", {}, 3.0), ("tsp_m", {}, 1.0), ("lb23", {}, 1.0)],
    ),
    ("leading blanks", b"  sp_lead 4\n", FAIL),
    ("CRLF", b"cr_m 1\r\n", FAIL),
    ("no final newline", b"nl_m 1", [("nl_m", {}, 1.0)]),
    ("blank lines", b"\nbl_m 1\n\n\nbl2 2\n\n", [("bl_m", {}, 1.0), ("bl2", {}, 2.0)]),
    ("no value", b"nv_m\n", FAIL),
    ("extra token", b"ex_m 1 1000 extra\n", FAIL),
    ("escaped name", b"en\\_m 1\n", FAIL),
    ("empty body", b"", []),
    ("quoted name (3.x syntax)", b'{"q.m", "l.n"="v"} 1\n', [("q.m", {"l.n": "v"}, 1.0)]),
]
"""Text 0.0.4. The quoted name is Prometheus 3.x syntax (2.42 fails the scrape): see
test_utf8_names.py; it is here to show the one deliberate difference."""

VALUES: list[tuple[str, float | None]] = [
    ("Inf", math.inf),
    ("inf", math.inf),
    ("iNF", math.inf),
    ("+Inf", math.inf),
    ("-Inf", -math.inf),
    ("Infinity", math.inf),
    ("+infinity", math.inf),
    ("NaN", math.nan),
    ("nan", math.nan),
    ("Nan", math.nan),
    ("+NaN", FAIL),
    ("-NaN", FAIL),
    ("+1", 1.0),
    (".5", 0.5),
    ("5.", 5.0),
    ("1e3", 1000.0),
    ("1E-2", 0.01),
    ("1e+3", 1000.0),
    ("007", 7.0),
    ("-0", -0.0),
    ("+0.5", 0.5),
    ("-.5", -0.5),
    ("1e308", 1e308),
    ("1e-400", 0.0),
    ("1e400", FAIL),
    ("-1e400", FAIL),
    ("0x10", FAIL),
    ("-0x1", FAIL),
    ("0x1.8", FAIL),
    ("0x1p3", FAIL),
    ("0X1P3", FAIL),
    ("1_000", FAIL),
    ("1__0", FAIL),
    ("+-1", FAIL),
    ("1.5e", FAIL),
    ("+.e1", FAIL),
    ("\u0661", FAIL),
]

TIMESTAMPS: list[tuple[str, int | None]] = [
    ("9223372036854775807", 9223372036854775807),
    ("9223372036854775808", FAIL),
    ("-1000", FAIL),
    ("-0", FAIL),
    ("+1000", FAIL),
    ("1.5", FAIL),
    ("0", 0),
    ("00123", 123),
]

OM_CASES: list[tuple[str, bytes, Kept | None]] = [
    ("no # EOF", b"o 1\n", FAIL),
    ("# EOF without a newline", b"o 1\n# EOF", [("o", {}, 1.0)]),
    ("data after # EOF", b"o 1\n# EOF\no2 1\n", FAIL),
    ("# EOF alone", b"# EOF\n", []),
    ("blank line", b"o 1\n\n# EOF\n", FAIL),
    ("plain comment", b"# random comment\n# EOF\n", FAIL),
    ("duplicates: the first kept", b"omd_m 1\nomd_m 2\n# EOF\n", [("omd_m", {}, 1.0)]),
    ("unknown escape kept verbatim", b'omesc_m{a="x\\qy"} 1\n# EOF\n', [("omesc_m", {"a": "x\\qy"}, 1.0)]),
    ("invalid UTF-8 in a value", b'omu_m{a="\xff"} 1\n# EOF\n', FAIL),
    ("HELP without text", b"# HELP o27\n# EOF\n", FAIL),
    ("HELP with empty text", b"# HELP o28 \no28 1\n# EOF\n", [("o28", {}, 1.0)]),
    ("unknown TYPE", b"# TYPE omu2 foo\n# EOF\n", FAIL),
    ("TYPE untyped", b"# TYPE o23 untyped\n# EOF\n", FAIL),
    (
        "every OpenMetrics type",
        b"# TYPE t1 unknown\n# TYPE t2 info\n# TYPE t3 stateset\n# TYPE t4 counter\n# TYPE t5 gauge\n"
        b"# TYPE t6 histogram\n# TYPE t7 gaugehistogram\n# TYPE t8 summary\n# EOF\n",
        [],
    ),
    ("TYPE twice", b"# TYPE o17 gauge\n# TYPE o17 counter\no17_total 1\n# EOF\n", [("o17_total", {}, 1.0)]),
    ("counter without _total", b"# TYPE o5 counter\no5 1\n# EOF\n", [("o5", {}, 1.0)]),
    ("TYPE after the samples", b"omt_m 1\n# TYPE omt_m gauge\n# EOF\n", [("omt_m", {}, 1.0)]),
    ("UNIT not a suffix", b"# UNIT o6_seconds bytes\n# EOF\n", FAIL),
    (
        "_created as an ordinary series",
        b"# TYPE omc counter\nomc_total 3\nomc_created 1700000000\n# EOF\n",
        [("omc_total", {}, 3.0), ("omc_created", {}, 1700000000.0)],
    ),
    ("two blanks", b"o13  1\n# EOF\n", FAIL),
    ("two blanks after labels", b'o15{a="1"}  1\n# EOF\n', FAIL),
    ("trailing blank", b"o14 1 \n# EOF\n", FAIL),
    ("blank in braces", b'omsp_m{ a="1"} 1\n# EOF\n', FAIL),
    # 2.42's OpenMetrics parser wants a label name after every comma (observed in round three;
    # the round-two table had it kept)
    ("trailing comma", b'omtc_m{a="1",} 1\n# EOF\n', FAIL),
    ("trailing comma after two labels", b'omtc2{a="1",b="2",} 1\n# EOF\n', FAIL),
    ("trailing comma after an empty value", b'omtc3{a="",} 1\n# EOF\n', FAIL),
    ("CRLF", b"o25 1\r\n# EOF\n", FAIL),
    (
        "special values",
        b"v1 +Inf\nv2 Inf\nv3 inf\nv4 NaN\nv5 nan\n# EOF\n",
        [
            ("v1", {}, math.inf),
            ("v2", {}, math.inf),
            ("v3", {}, math.inf),
            ("v4", {}, math.nan),
            ("v5", {}, math.nan),
        ],
    ),
    ("NaN timestamp", b"m 1 NaN\n# EOF\n", FAIL),
    ("+Inf timestamp", b"m 1 +Inf\n# EOF\n", FAIL),
    ("hex timestamp", b"m 1 0x10\n# EOF\n", FAIL),
    ("exemplar value not a float", b'omx_total 1 # {trace_id="abc"} x\n# EOF\n', FAIL),
    ("exemplar on a _total", b'omx_total 1 # {trace_id="abc"} 0.5 1\n# EOF\n', [("omx_total", {}, 1.0)]),
    (
        "exemplar on a _bucket",
        b'omx_bucket{le="1"} 1 # {t="a"} 0.5\n# EOF\n',
        [("omx_bucket", {"le": "1"}, 1.0)],
    ),
    ("exemplar on a gauge", b'omxb 1 # {trace_id="abc"} 0.5\n# EOF\n', FAIL),
    ("exemplar with a repeated label", b'omxd_total 1 # {t="1",t="2"} 1\n# EOF\n', [("omxd_total", {}, 1.0)]),
    ("duplicate label, one empty", b'omde{x="",x="2"} 1\n# EOF\n', [("omde", {}, 1.0)]),
    ("empty exemplar on a bare name", b'o10{a="1"} 1 # {} 1\n# EOF\n', FAIL),
    ("quoted name (3.x syntax)", b'{"omq.m","l.n"="v"} 1\n# EOF\n', [("omq.m", {"l.n": "v"}, 1.0)]),
]
"""OpenMetrics 1.0 (the 2.43 change that allows exemplars on every type is taken, see
docs/parser.md)."""

OM_TIMESTAMPS: list[tuple[str, int]] = [
    ("1.5", 1500),
    ("1700000000.123456789", 1700000000123),
    ("-1.5", -1500),
    ("1e3", 1_000_000),
]


def _kept(data: bytes, content_type: str) -> Kept | None:
    try:
        samples = parse_exposition(data, content_type, SeriesCache())  # the scrape stage's samples
    except ParseError:
        return FAIL
    return [(s.name, dict(s.labels), s.value) for s in samples]


def _same(got: Kept | None, expected: Kept | None) -> bool:
    if got is None or expected is None:
        return got is expected
    return len(got) == len(expected) and all(
        (name, labels) == (want_name, want_labels)
        and (value == want or (math.isnan(value) and math.isnan(want)))
        and math.copysign(1, value) == math.copysign(1, want)
        for (name, labels, value), (want_name, want_labels, want) in zip(got, expected, strict=True)
    )


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_text_as_prometheus_242(data: bytes, expected: Kept | None) -> None:
    got = _kept(data, TEXT)
    assert _same(got, expected), got


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in OM_CASES], ids=[c[0] for c in OM_CASES])
def test_openmetrics_as_prometheus_242(data: bytes, expected: Kept | None) -> None:
    got = _kept(data, OM)
    assert _same(got, expected), got


@pytest.mark.parametrize(("text", "value"), VALUES, ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("content_type", [TEXT, OM])
def test_values_as_prometheus_242(content_type: str, text: str, value: float | None) -> None:
    data = f"v {text}\n".encode() + (b"# EOF\n" if content_type == OM else b"")
    expected = FAIL if value is None else [("v", {}, value)]
    got = _kept(data, content_type)
    assert _same(got, expected), got


@pytest.mark.parametrize(("text", "ms"), TIMESTAMPS, ids=[t[0] for t in TIMESTAMPS])
def test_text_timestamps_as_prometheus_242(text: str, ms: int | None) -> None:
    try:
        (sample,) = parse_exposition(f"t 1 {text}\n".encode(), TEXT)
    except ParseError:
        assert ms is None
    else:
        assert sample.timestamp_ms == ms


@pytest.mark.parametrize(("text", "ms"), OM_TIMESTAMPS, ids=[t[0] for t in OM_TIMESTAMPS])
def test_openmetrics_timestamps_as_prometheus_242(text: str, ms: int) -> None:
    (sample,) = parse_exposition(f"t 1 {text}\n# EOF\n".encode(), OM)
    assert sample.timestamp_ms == ms


@pytest.mark.parametrize("stamp", ["1e306", "9.3e15", "-9.3e15"])
def test_an_openmetrics_time_beyond_int64_ms_keeps_the_scrape_and_drops_the_sample(stamp: str) -> None:
    """2.42 converts it unchecked and its TSDB drops the result as out of bounds: ``up`` 1,
    counted as scraped, not stored; without honor_timestamps it is stored at the scrape's time."""
    data = f"far 1 {stamp}\nnear 2 1.5\n# EOF\n".encode()
    budget = ScrapeBudget()
    honored = [s for chunk in SeriesCache().read(data, OM, 5, budget=budget) for s in chunk]
    assert [(s.name, s.timestamp_ms) for s in honored] == [("near", 1500)]
    assert (budget.parsed, budget.admitted) == (2, 1)  # the scraper admits the 1 it is handed
    ignored = SeriesCache().read(data, OM, 5, honor_timestamps=False)
    assert [(s.name, s.timestamp_ms) for chunk in ignored for s in chunk] == [("far", 5), ("near", 5)]


def test_an_exemplar_time_beyond_int64_ms_loses_the_exemplar_only() -> None:
    (sample,) = parse_exposition(b'a_total 1 # {t="x"} 1 1e306\n# EOF\n', OM)
    assert (sample.value, sample.exemplar) == (1.0, None)


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        (b"#x\0y\na 1\n", []),
        (b"#\0\na 1\n", []),
        (b"  #x\0\na 1\n", []),
        (b"a 1\n#x\0\nb 1\n", ["a"]),
        (b"a 1\n\t\0\nb 1\n", ["a"]),
        (b"a 1\n \0\nb 1\n", ["a"]),
        (b"# x\0y\na 1\n", ["a"]),  # a NUL in a "# " comment is skipped
        (b"# HELP a x\0y\na 1\n", ["a"]),  # and in a HELP text
        (b'a{x="\0"} 1\nb 1\n', ["a", "b"]),  # and in a label value
        (b"# \0HELP a x\na 1\n", []),  # but not where a token starts after "# "
        (b"#  \0\na 1\n", []),
    ],
)
def test_a_nul_between_tokens_ends_the_body(data: bytes, kept: list[str]) -> None:
    """2.42's text lexer takes a NUL for the end of the body where it starts a token: after
    blanks at the start of a line, or in a comment whose ``#`` no blank follows (observed
    in round three)."""
    got = _kept(data, TEXT)
    assert got is not None and [name for name, _, _ in got] == kept


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        # observed on 2.42: its lexer skips NULs while it looks one byte ahead in a label value,
        # a comment or a HELP text, so a closing quote's value takes the NULs after it as its end
        (b'a{x="1"\0} 1\nb 2\n', TEXT, [("a", {"x": '1"'}, 1.0), ("b", {}, 2.0)]),
        (b'a{x="1"\0,y="2"} 1\n', TEXT, [("a", {"x": '1"', "y": "2"}, 1.0)]),
        (b'a{x="1"\0\0} 1\n', TEXT, [("a", {"x": '1"\0'}, 1.0)]),
        (b'a{x="1"\0} 1\nb 2\n# EOF\n', OM, [("a", {"x": '1"'}, 1.0), ("b", {}, 2.0)]),
        (b'a{x="1",\0y="2"} 1\n', TEXT, FAIL),
        (b'a{x\0="1"} 1\n', TEXT, FAIL),
        (b'a{x="1"}\0 1\n', TEXT, FAIL),
        (b"a 1\0\n", TEXT, FAIL),
        # and inside a metadata line's keyword and the blanks after it, not after its name
        (b"# HELP \0a x\na 1\n", TEXT, [("a", {}, 1.0)]),
        (b"# HELP\0 a x\na 1\n", TEXT, [("a", {}, 1.0)]),
        (b"# HELP \0a\na 1\n", TEXT, [("a", {}, 1.0)]),
        (b"# HELP a \0x\na 1\n", TEXT, [("a", {}, 1.0)]),
        (b"# TYPE \0a counter\na 1\n", TEXT, [("a", {}, 1.0)]),
        (b"# HELP \0a x\na 1\n# EOF\n", OM, [("a", {}, 1.0)]),
        (b"a 1\n# E\0OF\n", OM, [("a", {}, 1.0)]),  # fuzz-found
        (b"# HELP a\0 x\na 1\n", TEXT, FAIL),
        (b"# TYPE a\0 counter\na 1\n", TEXT, FAIL),
        (b"# TYPE a \0counter\na 1\n", TEXT, FAIL),
    ],
)
def test_nul_bytes_the_lexer_skips_as_prometheus_242(
    data: bytes, content_type: str, expected: Kept | None
) -> None:
    assert _same(_kept(data, content_type), expected), _kept(data, content_type)


def test_everything_after_a_nul_line_is_ignored() -> None:
    """2.42's lexer takes a NUL byte at the start of a line for the end of the body."""
    assert _kept(b"lb15 1\n\x00\nafter{ 2 garbage\n", TEXT) == [("lb15", {}, 1.0)]


def test_a_raw_newline_in_a_quoted_value() -> None:
    """2.42's text lexer allows a raw newline inside quotes."""
    assert _kept(b'lb5{a="x\ny"} 1\n', TEXT) == [("lb5", {"a": "x\ny"}, 1.0)]


@pytest.mark.parametrize("content_type", [TEXT, OM])
def test_nan_has_the_bits_prometheus_gives_it(content_type: str) -> None:
    """2.42 sent 0x7ff8000000000001 (Go's ``math.NaN()``) to Remote Write for every spelling."""
    end = b"# EOF\n" if content_type == OM else b""
    bulk = b'n{a="1"} NaN\nn{a="2"} nan\nn{a="3"} 1\n' + end  # the bulk path
    careful = b"n 1 1\nm Nan 2\n" + end  # lines with timestamps: the careful path
    cache = SeriesCache()
    for data in (bulk, careful, bulk):  # cold, cold, then warm
        for sample in parse_exposition(data, content_type, cache):
            if math.isnan(sample.value):
                assert struct.pack("<d", sample.value) == struct.pack("<Q", 0x7FF8000000000001)


def test_help_escapes_as_prometheus_242_decodes_them() -> None:
    (text,) = parse_exposition(b'# HELP he_m a\\\\b\\nc\\qd \\"e\nhe_m 1\n', TEXT)
    assert text.family.help == 'a\\b\nc\\qd \\"e'  # text: \\" stays
    (om,) = parse_exposition(b'# HELP o7 a\\"b\\qc\\\\d\\ne\no7 1\n# EOF\n', OM)
    assert om.family.help == 'a"b\\qc\\d\ne'  # OpenMetrics: \\" decoded
    (two,) = parse_exposition(b"# HELP  x  two  spaces\nx 1\n", TEXT)
    assert two.family.help == " two  spaces"  # the text after exactly one separator
