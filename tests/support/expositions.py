"""Hypothesis strategies for near-valid expositions, for fuzzing the parser.

``expositions(openmetrics)`` draws a body that is valid more often than not: families with
``# HELP``/``# TYPE``/``# UNIT`` blocks, label sets with escapes and odd whitespace, values and
timestamps from the edges of what Prometheus accepts (huge, tiny, NaN, Inf, overflowing,
beyond int64), exemplars; then ``mutated`` applies byte-level mutations (insert a character
that matters to the grammar, delete, duplicate or swap lines, cut the body short).
"""

from __future__ import annotations

from typing import get_args

from hypothesis import strategies as st
from scrape_push.model import MetricType

TYPES = list(get_args(MetricType))
SUFFIXES = ["", "_total", "_bucket", "_sum", "_count", "_created", "_info", "_gsum", "_gcount"]
METRIC_NAMES = st.sampled_from(["a", "b", "req", "lat_seconds", "x:y", "_z", "up"])
LABEL_NAMES = st.sampled_from(["a", "b", "le", "quantile", "job", "instance", "x_1", "__name__", "1a", "é"])
VALUE_CHARS = 'ab0 é"\\\n{}=,#\t\x00'
"""Characters of label values before escaping: everything that matters to the grammar."""
ESCAPES = st.sampled_from(["\\\\", '\\"', "\\n", "\\q", "\\t", "\\", "\\\\\\"])

NUMBERS = st.sampled_from(
    [
        "0",
        "1",
        "-1.5",
        "1e3",
        ".5",
        "5.",
        "NaN",
        "nan",
        "+Inf",
        "-Inf",
        "Infinity",
        "-infinity",
        "1e308",
        "1.8e308",
        "1e400",
        "-1e400",
        "4.9e-324",
        "1e-400",
        "0x1p3",
        "1_0",
        "+nan",
        "1e",
        "\u0661",  # an Arabic-Indic digit one: float() takes it, Go does not
        "9" * 400,
        "9" * 400 + "x",
        "1.",
        "--1",
        "",
    ]
)
TEXT_TIMESTAMPS = st.one_of(
    st.integers(0, 1 << 64).map(str),
    st.sampled_from(
        ["-5", "1.5", "9" * 30, "0" * 25 + "1", "9223372036854775807", "9223372036854775808", "9" * 5000]
    ),
)
OPENMETRICS_TIMESTAMPS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        ["1.8e305", "1e306", "-1.8e305", "9.3e15", "-9.3e15", "9.2e15", "1e16", "NaN", "Inf", "1e400", "1.5"]
    ),
)


@st.composite
def label_value(draw: st.DrawFn) -> str:
    """A quoted label value: escaped properly most of the time, raw or oddly escaped else."""
    pieces = draw(st.lists(st.one_of(st.text(VALUE_CHARS, max_size=3), ESCAPES), max_size=4))
    raw = "".join(pieces)
    if draw(st.booleans()):
        raw = raw.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{raw}"'


@st.composite
def label_set(draw: st.DrawFn, openmetrics: bool) -> str:
    """``{...}`` (or nothing): pairs joined by commas, or in text 0.0.4 by any blanks."""
    if draw(st.integers(0, 4)) == 0:
        return ""
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(LABEL_NAMES)
        if openmetrics or draw(st.booleans()):
            pairs.append(f"{name}={draw(label_value())}")
        else:
            pairs.append(f"{name}{draw(BLANKS)}={draw(BLANKS)}{draw(label_value())}")
    separators = st.sampled_from([","] if openmetrics else [",", " ", ", ", " ,\t", ""])
    body = ""
    for index, pair in enumerate(pairs):
        body += pair if index == 0 else draw(separators) + pair
    if pairs and draw(st.integers(0, 3)) == 0:
        body += ","
    return "{" + body + "}"


BLANKS = st.sampled_from(["", " ", "\t", "  "])


@st.composite
def sample_line(draw: st.DrawFn, openmetrics: bool, family: str) -> str:
    name = family + draw(st.sampled_from(SUFFIXES))
    line = name + draw(label_set(openmetrics)) + " " + draw(NUMBERS)
    if draw(st.integers(0, 3)) == 0:
        stamps = OPENMETRICS_TIMESTAMPS if openmetrics else TEXT_TIMESTAMPS
        line += " " + draw(stamps)
    if openmetrics and draw(st.integers(0, 4)) == 0:
        line += f" # {draw(label_set(True)) or '{}'} {draw(NUMBERS)}"
        if draw(st.booleans()):
            line += " " + draw(OPENMETRICS_TIMESTAMPS)
    return line


HELP_TEXTS = st.lists(st.one_of(st.text('ab \\"é', max_size=4), ESCAPES), max_size=3).map("".join)


@st.composite
def family_lines(draw: st.DrawFn, openmetrics: bool) -> list[str]:
    family = draw(METRIC_NAMES)
    lines = []
    if draw(st.booleans()):
        lines.append(f"# HELP {family} {draw(HELP_TEXTS)}")
    if draw(st.integers(0, 3)) > 0:
        lines.append(f"# TYPE {family} {draw(st.sampled_from(TYPES))}")
    if openmetrics and draw(st.integers(0, 5)) == 0:
        lines.append(f"# UNIT {family} {draw(st.sampled_from(['seconds', 'bytes', '']))}")
    if not openmetrics and draw(st.integers(0, 5)) == 0:
        comments = ["# a comment", "#", "  # indented", "", "   ", '# a "quote', f' # HELP {family} a "quote']
        lines.append(draw(st.sampled_from(comments)))
    lines.extend(draw(st.lists(sample_line(openmetrics, family), min_size=1, max_size=6)))
    return lines


@st.composite
def expositions(draw: st.DrawFn, openmetrics: bool) -> bytes:
    lines = [line for block in draw(st.lists(family_lines(openmetrics), max_size=4)) for line in block]
    if openmetrics:
        lines.append("# EOF")
    return ("\n".join(lines) + "\n").encode()


MUTATION_BYTES = st.sampled_from([*b' \t\n\r"\\{}=,#_.e+-0x', 0, 0x0B, 0xC3, 0xFF])


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with up to three byte-level mutations."""
    body = bytearray(data)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(body)))
        kind = draw(
            st.sampled_from(["insert", "delete", "replace", "duplicate line", "swap lines", "truncate"])
        )
        if kind == "insert":
            body[at:at] = bytes([draw(MUTATION_BYTES)])
        elif kind == "delete":
            del body[at : at + draw(st.integers(1, 4))]
        elif kind == "replace" and at < len(body):
            body[at] = draw(MUTATION_BYTES)
        elif kind == "truncate":
            del body[at:]
        elif kind in {"duplicate line", "swap lines"}:
            lines = bytes(body).split(b"\n")
            i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            if kind == "duplicate line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            body = bytearray(b"\n".join(lines))
    return bytes(body)
