"""The scan kernel (``native/scan.c``, docs/native.md) against its pure-Python reference in
``parse/parser.py``: each kernel function against the function it stands for, on drawn and
hand-picked hostile inputs, then whole parses with the kernel on and off (``scan_checks``
compares them).
"""

from __future__ import annotations

import gc
import math
import sys
import tracemalloc
from types import ModuleType
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scrape_push.model import Family
from scrape_push.parse import (
    KNOWN_CONTEXT,
    KnownSeries,
    body,
    format_for,
    parser,
)
from scrape_push.parse.dialects import OPENMETRICS, TEXT

from tests.support.expositions import NUMBERS, VALUE_CHARS, expositions, mutated
from tests.support.native import compiled
from tests.unit.parse.scan_checks import (
    all_bits,
    both_ways,
    check_blocks,
    check_label_sets,
    check_scan,
    warm_state,
)
from tests.unit.parse.test_parser import _LINE, COLD
from tests.unit.parse.test_warm import CASES, NODE

pytestmark = pytest.mark.native

TEXT_TYPE = "text/plain; version=0.0.4"
OM_TYPE = "application/openmetrics-text; version=1.0.0"
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Quick by default (these run again on the arm64 build, under emulation); ``make fuzz`` runs
the long campaign (docs/native.md)."""

HOSTILE_VALUES = [
    "1e309",
    "-0",
    "-0.0e5",
    "+0",
    "0x1p3",
    "1_0",
    "inf",
    "Inf",
    "+Inf",
    "-inf",
    "nan",
    "NaN",
    "-NaN",
    "infinity",
    "INFINITY",
    ".5",
    "5.",
    ".",
    "-.",
    "1e",
    "1e+",
    "1E-5",
    "+-1",
    "-+1",
    "",
    "1\t",
    "\t1",
    "1\r",
    "1\x00",
    "\u0661",
    "\uff11",  # a fullwidth digit one: float() takes it
    "1" * 400,
    "0." + "0" * 400 + "1",
    "1e-400",
    "4.9e-324",
    "2.4703282292062327e-324",
    "1.7976931348623157e308",
    "1.7976931348623159e308",
    "9007199254740993",
    "123456789012345678901234567890",
    "0.1",
    "1e22",
    "1e23",
    "00012",
    "12e0000000000000000000000000001",
    "1e99999999999999999999",
]


EXACT_EDGES = [
    "9007199254740991",
    "9007199254740992",  # 2^53: the largest significand read in one operation
    "9007199254740993",  # past it: strtod's
    "-9007199254740992e22",
    "9007199254740992e-22",
    "9007199254740992e23",
    "1e-22",
    "1e-23",
    "123456789012345e-22",
    "4503599627370497.5",
    "0.30000000000000004",
    "00000000000000000000000000000001",
    "1.00000000000000000000000",
    "1.0000000000000000000000",
    "0e-99",
    "-0e99",
    "-0.000",
    "18446744073709551615",
    "18446744073709551616",
    "1" + "0" * 30 + "e-30",
]
"""Where the kernel's one-operation read of a decimal (``exact_decimal``) stops and strtod's
takes over: the significand past 2^53 or overflowing 64 bits, the exponent past 10^22."""

PLAIN_DECIMALS = st.builds(
    lambda sign, digits, point, exponent: (
        sign + (f"{digits[:point]}.{digits[point:]}" if point <= len(digits) else digits) + exponent
    ),
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", min_size=1, max_size=20),
    st.integers(0, 24),
    st.one_of(
        st.just(""),
        st.builds(
            "{}{}{}".format, st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), st.integers(0, 40)
        ),
    ),
)
"""The decimals a target sends, around the bounds of the one-operation read."""


@pytest.fixture(scope="module")
def kernel() -> ModuleType:
    return compiled("scan", 2)


# -- scan ---------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "a",
        "a_total",
        "x:y",
        "1a",
        "é",
        "{",
        "}",
        'x="1"',
        'x=""',
        'le="+Inf"',
        ",",
        " ",
        "  ",
        "\t",
        "#",
        "# HELP a x",
        "# TYPE a gauge",
        '"',
        "\\",
        "\r",
        "\x00",
        "\n",
        "\n\n",
        "=",
    ]
)
EXPOSITION_TEXT = st.lists(st.one_of(_PIECES, NUMBERS, st.sampled_from(HOSTILE_VALUES)), max_size=60).map(
    "".join
)
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=80)
"""Any code points, lone surrogates and NULs included (what a chunk that is not UTF-8 decodes to)."""
TEXTS = st.one_of(EXPOSITION_TEXT, ANY_TEXT, st.lists(_LINE, max_size=20).map("\n".join))


def known_of(data: st.DataObject, keys: list[str]) -> dict[str, KnownSeries]:
    """A mapping of known series: some of ``keys`` (in order, shuffled or not) and others."""
    chosen = data.draw(st.lists(st.sampled_from(keys), unique=True) if keys else st.just([]), label="known")
    others = data.draw(st.lists(st.text(max_size=8), max_size=3), label="others")
    if data.draw(st.booleans(), label="shuffled"):
        chosen = data.draw(st.permutations(chosen))
    return {key: (key, None, None) for key in [*chosen, *others]}


@QUICK
@given(TEXTS, st.booleans(), st.data())
def test_scan_reads_a_chunk_as_the_python_scan(
    kernel: ModuleType, text: str, last: bool, data: st.DataObject
) -> None:
    keys = parser._scan(body.lines(text, last), {}).keys
    known = known_of(data, keys)
    check_scan(kernel, text, last, known, data.draw(st.integers(0, len(known) + 2), label="position"))


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_scan_reads_each_hostile_value_as_python_and_prometheus(kernel: ModuleType, value: str) -> None:
    text = f'a {value}\nb{{x="1"}} {value}\n{value}'
    check_scan(kernel, text, True, {}, 0)
    check_scan(kernel, text, False, {"a": ("a", None, None)}, 0)


@pytest.mark.parametrize("value", EXACT_EDGES)
def test_scan_reads_a_decimal_at_the_edges_of_its_exact_read_as_python(
    kernel: ModuleType, value: str
) -> None:
    check_scan(kernel, f"a {value}\nb {value}", True, {}, 0)


@QUICK
@given(st.lists(PLAIN_DECIMALS, min_size=1, max_size=40))
def test_scan_reads_plain_decimals_to_the_bit_as_python(kernel: ModuleType, values: list[str]) -> None:
    check_scan(kernel, "\n".join(f"a{at} {value}" for at, value in enumerate(values)), True, {}, 0)


@pytest.mark.parametrize(
    "text",
    ["", "\n", "\n\n", "a 1", "a 1\n", "#", " a 1", "\ta 1", "a", " ", "a  1", "a 1 ", 'é{x="é"} 1\n# é'],
)
@pytest.mark.parametrize("last", [True, False])
def test_scan_reads_the_edges_of_a_chunk_as_the_python_scan(
    kernel: ModuleType, text: str, last: bool
) -> None:
    check_scan(kernel, text, last, {"a": ("a", None, None)}, 0)


def test_scan_follows_the_known_series_order_and_finds_those_out_of_it(kernel: ModuleType) -> None:
    known = {f"s{n}": (f"s{n}", None, None) for n in range(6)}
    text = "s0 1\ns1 1\nnew 1\ns2 1\ns5 1\ns3 1\ns3 1\ns4 1"  # a new one, one out of order, one twice
    for position in (0, 3, 6, 99):
        check_scan(kernel, text, True, known, position)
    scan = parser._Scan._make(kernel.scan("s0 1\ns1 1", True, known, 0))
    assert all(key is next(k for k in known if k == key) for key in scan.keys)  # the known texts
    assert parser._Scan._make(kernel.scan("s2 1", True, known, scan.position)).hits == [known["s2"]]


def test_scan_does_not_read_what_it_was_not_made_for(kernel: ModuleType) -> None:
    assert kernel.scan("a\ud800 1", True, {}, 0) is None  # lone surrogates: no UTF-8
    assert kernel.scan(b"a 1", True, {}, 0) is None
    assert kernel.scan("a 1", True, [], 0) is None
    assert kernel.scan("a 1", True, {}, -1) is None
    with pytest.raises(TypeError):
        kernel.scan("a 1", True, {})


# -- newlines -------------------------------------------------------------------------------------


@QUICK
@given(
    st.binary(max_size=2000)
    | st.lists(st.sampled_from([b"\n", b"a", b"\n\n", b"\r\n", b"\x00"])).map(b"".join)
)
def test_newlines_counts_as_bytes_count(kernel: ModuleType, data: bytes) -> None:
    assert kernel.newlines(data) == data.count(b"\n")


@pytest.mark.parametrize("size", [0, 1, 254, 255, 256, 510, 511, 100_000])
def test_newlines_counts_blocks_of_newlines_only(kernel: ModuleType, size: int) -> None:
    assert kernel.newlines(b"\n" * size) == size  # a block's count fills its byte, and no more
    assert kernel.newlines(b"x" * size + b"\n") == 1


def test_newlines_reads_bytes_only_and_the_parser_counts_the_rest(kernel: ModuleType) -> None:
    assert kernel.newlines(bytearray(b"\n")) is None
    assert kernel.newlines("\n") is None
    assert parser.newlines(b"a\nb\n") == 2
    with patch.object(parser, "_KERNEL", None):
        assert parser.newlines(b"a\nb\n") == 2


# -- blocks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "before", "data", "content_type"), CASES, ids=[case[0] for case in CASES])
def test_blocks_are_those_the_python_path_finds(
    kernel: ModuleType, name: str, before: list[bytes], data: bytes, content_type: str
) -> None:
    cache, families = warm_state(b"".join(before[-1:]), content_type)
    check_blocks(kernel, cache, families, data, TEXT if content_type.startswith("text") else OPENMETRICS)


@QUICK
@given(st.data(), st.booleans())
def test_blocks_of_fuzzed_warm_chunks_are_those_the_python_path_finds(
    kernel: ModuleType, data: st.DataObject, openmetrics: bool
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(st.one_of(st.just(base), mutated(base)), label="exposition")
    content_type = OM_TYPE if openmetrics else TEXT_TYPE
    cache, families = warm_state(base, content_type)
    with patch.object(body, "CHUNK_BYTES", data.draw(st.sampled_from([1 << 16, 64, 1]))):
        check_blocks(kernel, cache, families, exposition, OPENMETRICS if openmetrics else TEXT)


def test_blocks_of_an_entry_under_an_equal_block_are_the_python_path_s(kernel: ModuleType) -> None:
    family = Family("a", "gauge")
    equal = Family("a", "gauge")
    runs = {"# TYPE a gauge": ("a", family)}
    special = b"\x01\x00"
    assert kernel.blocks(special, ["# TYPE a gauge"], runs, None, [("a", family, family)], 2) == (family,)
    assert kernel.blocks(special, ["# TYPE a gauge"], runs, None, [("a", family, equal)], 2) is None
    assert (
        kernel.blocks(special, ["# TYPE a gauge"], runs, family, [("a", family, family)], 2) is None
    )  # amends


def test_blocks_hold_what_a_family_s_name_could_free(kernel: ModuleType) -> None:
    """A block whose ``name`` is code that empties the runs table and the entries: the kernel
    holds what it reads there (under ASan, the kernel before read the run's head after it was
    freed)."""
    runs: dict[str, object] = {}
    hits: list[object] = []

    class Greedy:
        @property
        def name(self) -> str:
            runs.clear()
            hits.clear()
            return "b"

    family = Family("a", "gauge")
    runs["# TYPE a gauge"] = ("".join(["a"] * 50), Greedy())  # (made here: nothing else holds it)
    runs["# TYPE b gauge"] = ("".join(["b"] * 50), family)
    hits += [("x", family, runs["# TYPE a gauge"][1]), ("y", family, family)]  # type: ignore[index]
    special, comments = b"\x01\x00\x01\x00", ["# TYPE a gauge", "# TYPE b gauge"]
    assert kernel.blocks(special, comments, runs, Greedy(), hits, KNOWN_CONTEXT) is None
    assert runs == {} and hits == []


_GARBAGE = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.tuples(),
    st.tuples(st.text(max_size=2)),
    st.tuples(st.text(max_size=2), st.none()),
    st.tuples(st.none(), st.none(), st.none()),
    st.lists(st.none(), max_size=2),
)


_BLOCKS_ARGUMENTS = st.tuples(
    st.binary(max_size=12),
    st.lists(st.one_of(st.sampled_from(["# TYPE a gauge", "# HELP a x"]), _GARBAGE), max_size=6),
    st.one_of(st.dictionaries(st.sampled_from(["# TYPE a gauge", "# HELP a x", "x"]), _GARBAGE), _GARBAGE),
    _GARBAGE,
    st.one_of(st.lists(_GARBAGE, max_size=8), _GARBAGE),
    st.integers(-2, 4),
)


@QUICK
@given(_BLOCKS_ARGUMENTS)
def test_blocks_never_fail_on_what_it_was_not_made_for(
    kernel: ModuleType, arguments: tuple[object, ...]
) -> None:
    found = kernel.blocks(*arguments)
    assert found is None or (type(found) is tuple and len(found) == 1)


# -- label sets ------------------------------------------------------------------------------------

_SET_PIECES = st.sampled_from(
    [
        "a",
        "_b",
        "x1",
        "1x",
        ":",
        "é",
        "{",
        "}",
        "=",
        '"',
        '=""',
        '="1"',
        '="v w"',
        ",",
        " ",
        "\\",
        "\n",
        "\x00",
    ]
)
_VALUES = st.one_of(
    st.sampled_from(["", "1", "v w", "+Inf", "é", "}", "{", "=", ",", "#", "\t", "\x00"]),
    st.text(VALUE_CHARS, max_size=4),
)
"""Label values: without a quote, a backslash or a newline (plain) half the time."""
_GOOD_NAMES = ["a", "a_total", "x:y", "_z", ":", "A9"]
_GOOD_LABELS = ["x", "le", "_y", "Z9"]
_GOOD_VALUES = ["", "1", "v w", "+Inf", "é", "}", "{", "=", ",", "#", "\t", "\x00", "'"]
_FLAWS = [
    ("name", ["1a", "", "é", "a.b", "a-b", "a{"]),
    ("label", ["1z", "", "é", "x:y", ":", "a.b", "a-b", " x", "x "]),
    ("value", ['"', "\\", "\n", 'a"b']),
    ("separator", ["", ",,", ", ", " ,", ";"]),
    ("tail", ["}", ",", " ", "{", "x"]),
    ("equals", ["", "==", " =", ":"]),
]
"""What may be wrong with a plain series text, one thing at a time: a name or a label name the
plain shape has not, a value with a quote, a backslash or a newline, a label set's separators,
something after it, its equals signs."""


@st.composite
def near_plain_key(draw: st.DrawFn) -> str:
    """A series text of the plain shape, or one flaw away from it (``_FLAWS``)."""
    flaw, choices = draw(st.sampled_from([("none", [""]), *_FLAWS]))
    bad = draw(st.sampled_from(choices))
    pairs = draw(
        st.lists(st.tuples(st.sampled_from(_GOOD_LABELS), st.sampled_from(_GOOD_VALUES)), max_size=3)
    )
    at = draw(st.integers(0, max(len(pairs) - 1, 0)))
    parts = []
    for index, (label, value) in enumerate(pairs):
        here = index == at
        named = bad if here and flaw == "label" else label
        quoted = value + bad if here and flaw == "value" else value
        equals = bad if here and flaw == "equals" else "="
        parts.append(f'{named}{equals}"{quoted}"')
    separator = "," if flaw != "separator" else bad
    trailing = "," if draw(st.booleans()) else ""
    braces = "{" + separator.join(parts) + trailing + "}" if pairs or draw(st.booleans()) else ""
    name = bad if flaw == "name" else draw(st.sampled_from(_GOOD_NAMES))
    return name + braces + (bad if flaw == "tail" else "")


PLAIN_KEYS = st.one_of(near_plain_key(), st.lists(_SET_PIECES, max_size=12).map("".join), ANY_TEXT)


@QUICK
@given(near_plain_key(), st.booleans())
def test_the_label_set_of_a_series_text_near_the_plain_shape_is_the_pattern_s(
    kernel: ModuleType, key: str, openmetrics: bool
) -> None:
    check_label_sets(kernel, [key], openmetrics)


@QUICK
@given(st.lists(PLAIN_KEYS, max_size=8), st.booleans())
def test_label_sets_are_those_of_the_plain_lines_pattern(
    kernel: ModuleType, keys: list[str], openmetrics: bool
) -> None:
    check_label_sets(kernel, keys, openmetrics)


def test_label_sets_leave_no_utf_8_copy_on_a_series_text_the_cache_keeps(kernel: ModuleType) -> None:
    key = 'a{x="é"}'
    size = sys.getsizeof(key)  # (which counts a UTF-8 copy attached to the str)
    assert kernel.label_sets([key], True) == (["a"], ['x="é"'], ["x="])
    assert sys.getsizeof(key) == size


def test_label_sets_do_not_read_what_they_were_not_made_for(kernel: ModuleType) -> None:
    assert kernel.label_sets(("a",), True) is None
    assert kernel.label_sets(["a", 1], True) is None
    assert kernel.label_sets([], True) == ([], [], [])


# -- whole parses, kernel on and off ---------------------------------------------------------------


BODIES = [
    ("cold", [], COLD, TEXT_TYPE),
    ("node", [], NODE, TEXT_TYPE),
    ("node, warm", [NODE], NODE.replace(b"} 1\n", b"} 7\n"), TEXT_TYPE),
    ("node, openmetrics", [], NODE + b"# EOF\n", OM_TYPE),
    *((f"warm: {name}", before, data, content_type) for name, before, data, content_type in CASES),
    (
        "hostile values",
        [],
        b"".join(b"a%d %s\n" % (n, v.encode()) for n, v in enumerate(HOSTILE_VALUES)),
        TEXT_TYPE,
    ),
    (
        "hostile values, warm",
        [b"".join(b"a%d 1\n" % n for n in range(len(HOSTILE_VALUES)))],
        b"".join(b"a%d %s\n" % (n, v.encode()) for n, v in enumerate(HOSTILE_VALUES)),
        TEXT_TYPE,
    ),
    ("non-ASCII", [], '# HELP é x\né{x="é"} 1\né 2\n'.encode(), TEXT_TYPE),
    ("non-ASCII, warm", ['é{x="é"} 1\né 2\n'.encode()], 'é{x="é"} 3\né 4\n'.encode(), TEXT_TYPE),
    ("NUL bytes", [b"a 1\nb 1\n"], b'a 1\n# HELP \x00b x\nb{x="1"\x00} 1\n', TEXT_TYPE),
    ("not UTF-8", [b"a 1\n"], b"a 1\n# \xff\n", TEXT_TYPE),
]


@pytest.mark.parametrize("case", BODIES, ids=[case[0] for case in BODIES])
@pytest.mark.parametrize("chunk_bytes", [1 << 16, 64, 1])
@pytest.mark.parametrize("strict", [False, True])
def test_a_parse_is_the_same_with_the_kernel_and_without(
    kernel: ModuleType, case: tuple[str, list[bytes], bytes, str], chunk_bytes: int, strict: bool
) -> None:
    _, before, data, content_type = case
    with patch.object(body, "CHUNK_BYTES", chunk_bytes):
        on, off = both_ways(before, data, content_type, strict)
    assert on == off


@QUICK
@given(st.data(), st.booleans(), st.booleans())
def test_a_fuzzed_parse_is_the_same_with_the_kernel_and_without(
    kernel: ModuleType, data: st.DataObject, openmetrics: bool, warm: bool
) -> None:
    base = data.draw(expositions(openmetrics), label="base")
    exposition = data.draw(st.one_of(st.just(base), mutated(base)), label="exposition")
    content_type = OM_TYPE if openmetrics else TEXT_TYPE
    with patch.object(body, "CHUNK_BYTES", data.draw(st.sampled_from([1 << 16, 64, 1]), label="chunk bytes")):
        on, off = both_ways([base] if warm else [], exposition, content_type)
    assert on == off


@QUICK
@given(st.lists(_LINE, max_size=30), st.lists(_LINE, max_size=30), st.booleans())
def test_a_parse_of_plain_lines_is_the_same_with_the_kernel_and_without(
    kernel: ModuleType, before: list[str], lines: list[str], openmetrics: bool
) -> None:
    end = "# EOF\n" if openmetrics else ""
    first, data = (("\n".join(text) + "\n" + end).encode() for text in (before + lines, lines))
    on, off = both_ways([first], data, OM_TYPE if openmetrics else TEXT_TYPE)
    assert on == off


def test_a_warm_chunk_is_read_by_the_kernel_without_its_lines(kernel: ModuleType) -> None:
    cache, families = warm_state(NODE, TEXT_TYPE)
    with (
        patch.object(body, "lines", side_effect=AssertionError("split")),
        patch.object(parser, "_scan", side_effect=AssertionError("the Python scan")),
    ):
        (chunk,) = format_for(TEXT_TYPE).chunks(NODE.replace(b"} 1\n", b"} 7\n"), cache.entries, families)
    assert chunk.known == [cache.entries[key] for key in chunk.keys] and len(chunk.keys) == 10


# -- references and memory ---------------------------------------------------------------------------


def test_the_kernel_keeps_no_reference_nor_memory(kernel: ModuleType) -> None:
    """Every object the kernel returns is freed with its result, and its inputs' reference counts
    are as before (a leaked reference would keep memory: tracemalloc sees it grow)."""
    text = NODE.decode() + "c NaN\nd 0x1\n  # indented\n\né 1\n"
    cache, families = warm_state(NODE, TEXT_TYPE)
    known = cache.entries
    keys_set = ['a{x="1",y=""}', "b", 'c{le="+Inf",}']
    runs = families.runs[TEXT.name]
    entries = list(known.values())
    counts = [
        sys.getrefcount(text),
        sys.getrefcount(known),
        *map(sys.getrefcount, entries),
        *map(sys.getrefcount, runs.values()),
    ]

    def calls() -> None:
        scan = parser._Scan._make(kernel.scan(text, True, known, 0))
        comments = scan.comments[0] if scan.comments else []
        kernel.blocks(scan.special, comments, runs, None, scan.hits, KNOWN_CONTEXT)
        kernel.label_sets(keys_set, True)
        kernel.label_sets([*keys_set, "bad{"], False)
        kernel.scan(text, False, {}, 0)

    for _ in range(50):
        calls()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(200):
            calls()
        gc.collect()
        first, _ = tracemalloc.get_traced_memory()
        for _ in range(2000):
            calls()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - first < 4096, f"{after - first} bytes more after 2000 more calls"
    assert counts == [
        sys.getrefcount(text),
        sys.getrefcount(known),
        *map(sys.getrefcount, entries),
        *map(sys.getrefcount, runs.values()),
    ]


def test_a_float_the_kernel_reads_is_the_one_float_reads() -> None:
    """(What ``check_scan`` relies on: ``_floats`` is ``float`` for a plain decimal.)"""
    assert all_bits(parser._floats(["-0", "0.1", "1e22"])) == all_bits([-0.0, 0.1, 1e22])
    assert math.copysign(1.0, parser._floats(["-0"])[0]) == -1.0  # type: ignore[index]
