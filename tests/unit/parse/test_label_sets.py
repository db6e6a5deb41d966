"""Label sets, valid and broken, against a plain reference scanner (issue 12, point 1).

The reference reads a label set one character at a time, the way Prometheus's lexers do, with
the rules of docs/parser.md: in text 0.0.4 blanks around tokens and optional commas, in
OpenMetrics neither; escapes ``\\\\``, ``\\"`` and ``\\n`` decoded, any other kept verbatim
(Prometheus 2.42); quoted label names (Prometheus 3.x); no ``__name__``; every label of a name
that has an empty value dropped, then no duplicate names. The parser's patterns must agree on
every generated set.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scrape_push.parse import ParseError
from scrape_push.scrape import SeriesCache

from tests.support.parsing import parse_exposition

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
NAME_REST = NAME_START + "0123456789"
ESCAPED = {"\\": "\\", '"': '"', "n": "\n"}

Labels = tuple[tuple[str, str], ...]


class _Refused(Exception):
    pass


class _Scanner:
    def __init__(self, text: str, openmetrics: bool) -> None:
        self.text, self.at, self.openmetrics = text, 0, openmetrics

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            raise _Refused
        self.at += 1

    def blanks(self) -> None:
        while not self.openmetrics and self.peek() in {" ", "\t"}:
            self.at += 1

    def name(self) -> str:
        start = self.at
        if not self.peek() or self.peek() not in NAME_START:
            raise _Refused
        while self.peek() and self.peek() in NAME_REST:
            self.at += 1
        return self.text[start : self.at]

    def value(self) -> str:
        self.take('"')
        out = []
        while self.peek() != '"':
            char = self.peek()
            if char in {"", "\n"}:
                raise _Refused
            if char == "\\":
                self.at += 1
                if not self.peek() or self.peek() == "\n":
                    raise _Refused
                char = ESCAPED.get(self.peek(), "\\" + self.peek())
            out.append(char)
            self.at += 1
        self.take('"')
        return "".join(out)


def reference(label_set: str, openmetrics: bool) -> Labels | None:
    """The labels of ``name{label_set} 1``, or ``None`` when the line is invalid."""
    scan = _Scanner(label_set + "} 1", openmetrics)
    pairs: list[tuple[str, str]] = []
    try:
        scan.blanks()
        while scan.peek() != "}":
            name = scan.value() if scan.peek() == '"' else scan.name()
            scan.blanks()
            if not name:
                raise _Refused  # an empty quoted label name, or a quoted metric name after ``a``
            scan.take("=")
            scan.blanks()
            value = scan.value()
            if name == "__name__":
                raise _Refused
            pairs.append((name, value))
            scan.blanks()
            if scan.peek() == ",":
                scan.at += 1
                scan.blanks()
                if openmetrics and scan.peek() in {",", "}"}:
                    raise _Refused  # 2.42's OpenMetrics parser wants a label name after a comma
            elif openmetrics and scan.peek() != "}":
                raise _Refused
        if openmetrics and label_set.startswith(","):
            raise _Refused
    except _Refused:
        return None
    if scan.text[scan.at :] != "} 1":
        return None
    # every label of a name with an empty value goes; then no name may repeat (Prometheus 2.42)
    emptied = {name for name, value in pairs if not value}
    kept = [(name, value) for name, value in pairs if name not in emptied]
    if len({name for name, _ in kept}) != len(kept):
        return None
    return tuple(sorted(kept))


def parsed(label_set: str, openmetrics: bool) -> Labels | None:
    line = f"a{{{label_set}}} 1\n" + ("# EOF\n" if openmetrics else "")
    try:
        # through the scrape stage: a repeated name fails the scrape there (its TSDB refuses it)
        (sample,) = parse_exposition(line.encode(), OM if openmetrics else TEXT, SeriesCache())
    except ParseError:
        return None
    return sample.labels


TOKENS = st.sampled_from(
    ["a", "b", "le", "x_1", "__name__", "1a", "=", ",", " ", "\t", '"', "\\", "}", "{", "!", "é"]
)
VALUES = st.lists(
    st.sampled_from(["v", "", " ", "\\\\", '\\"', "\\n", "\\q", "}", "{", ",", "=", "é"]), max_size=4
)


@st.composite
def label_sets(draw: st.DrawFn) -> str:
    """Well-formed pairs with random separators, and random tokens in between."""
    pieces = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 3)) == 0:
            pieces.append("".join(draw(st.lists(TOKENS, max_size=4))))
        else:
            name = draw(st.sampled_from(["a", "b", "le", "x_1", "__name__"]))
            blank = st.sampled_from(["", " ", "\t "])
            pieces.append(f'{name}{draw(blank)}={draw(blank)}"{"".join(draw(VALUES))}"')
        pieces.append(draw(st.sampled_from([",", "", " ", ", ", "\t,"])))
    return "".join(pieces)


@settings(max_examples=400, deadline=None)
@given(label_sets(), st.booleans())
def test_label_sets_match_the_reference(label_set: str, openmetrics: bool) -> None:
    assert parsed(label_set, openmetrics) == reference(label_set, openmetrics)


def test_the_reference_reads_both_formats() -> None:
    assert reference('b="2" a="1",', False) == (("a", "1"), ("b", "2"))
    assert reference('b="2" a="1"', True) is None
    assert reference('x="\\\\\\n",y=""', True) == (("x", "\\\n"),)
    assert reference('x="1"} 2', False) is None
    assert reference('x="\\q"', True) == (("x", "\\q"),)
    assert reference('"a.b"="1"', False) == (("a.b", "1"),)
    assert reference('"a.b"', False) is None
