"""Parsing untrusted bytes takes linear time (issue 12, point 1).

Two checks, neither timing anything: every pattern the parse stage compiles is read back
(``re._parser``) and must have no unbounded repeat that can give back what it matched; and the
pathological lines found so far are parsed at 10, 20 and 40 times their size in a child process
whose CPU time is capped (``RLIMIT_CPU``) at what exponential or quadratic backtracking would
blow through many times over, and linear parsing does not approach.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from types import ModuleType

import pytest
from scrape_push import limits
from scrape_push.parse import (
    body,
    chunk,
    dialects,
    errors,
    formats,
    grammar,
    metadata,
    parser,
    protobuf,
    protohist,
)
from scrape_push.scrape import series

MODULES = (
    body,
    chunk,
    dialects,
    errors,
    formats,
    grammar,
    metadata,
    parser,
    protobuf,
    protohist,
    series,
    limits,
)
PACKAGE = Path(__file__).resolve().parents[3] / "functions" / "scrape_push"

CPU_SECONDS = 30
"""The child's CPU cap, a guard against hangs: the label-set, value and timestamp cases need well
under 1% of it, the quote and NUL cases (700,000 lines at their largest, each joined or
re-read as its own line) 8 s on a slow shared 2-vCPU machine; the old patterns needed minutes
to years for the largest, and a search over the rest of the body from each of those lines
(the quadratic these cases guard against) far more than the cap."""


def patterns(module: ModuleType) -> Iterator[tuple[str, re.Pattern[str]]]:
    for name, value in vars(module).items():
        if isinstance(value, re.Pattern):
            yield f"{module.__name__}.{name}", value


def backtracking_repeats(tree: object) -> Iterator[str]:
    """Every repeat in a parsed pattern that may match more than once and give back."""
    for op, argument in tree:  # type: ignore[attr-defined]
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, inner = argument
            if high > 1:
                yield f"{op} {{{low},{high}}} of {inner}"
            yield from backtracking_repeats(inner)
        elif op == sre.POSSESSIVE_REPEAT:
            yield from backtracking_repeats(argument[2])
        elif op == sre.SUBPATTERN:
            yield from backtracking_repeats(argument[3])
        elif op == sre.BRANCH:
            for branch in argument[1]:
                yield from backtracking_repeats(branch)
        elif op == sre.ATOMIC_GROUP:
            yield from backtracking_repeats(argument)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            yield from backtracking_repeats(argument[1])


ALL_PATTERNS = [found for module in MODULES for found in patterns(module)]


def test_the_parse_stage_patterns_are_all_checked() -> None:
    names = {name.rsplit(".", 1)[1] for name, _ in ALL_PATTERNS}
    assert {
        "TEXT_BODY",
        "TEXT_SAMPLE",
        "OM_SAMPLE",
        "OM_BODY",
        "TEXT_PLAIN_LINES",
        "OM_PLAIN_LINES",
        "FLOAT",
        "_LABEL_NAME",
    } <= names
    assert len(ALL_PATTERNS) >= 12


@pytest.mark.parametrize(("name", "pattern"), ALL_PATTERNS, ids=[name for name, _ in ALL_PATTERNS])
def test_no_repeat_gives_back_what_it_matched(name: str, pattern: re.Pattern[str]) -> None:
    found = list(backtracking_repeats(sre_parse.parse(pattern.pattern, pattern.flags)))
    assert not found, f"{name} can backtrack ({len(found)} repeats), first: {found[0][:150]}"


def _text_pairs(pairs: int, blanks: int) -> bytes:
    body = "".join(f'l{index}="v"' + " " * blanks for index in range(pairs))
    return f"a{{{body}!}} 1\n".encode()


PATHOLOGICAL = {
    # name: (content type, the line at size n); each is refused by the parser
    "text label set, single spaces (issue 12)": ("text/plain", lambda n: _text_pairs(n, 1)),
    "text label set, four spaces (issue 12)": ("text/plain", lambda n: _text_pairs(n, 4)),
    "value of 1,000n digits, then a letter": ("text/plain", lambda n: b"a " + b"1" * (1000 * n) + b"x\n"),
    "om timestamp of 1,000n digits, then a letter": (
        "application/openmetrics-text",
        lambda n: b"a 1 " + b"1" * (1000 * n) + b"x\n# EOF\n",
    ),
    # a quote left open is joined to the following lines (a raw newline in a text value,
    # issue 15): each line must be looked at a bounded number of times
    "text quote open over 10,000n lines that never close it": (
        "text/plain",
        lambda n: b'a{x="\n' + b"b 1\n" * (10_000 * n),
    ),
    "text quotes closed on the next line, then broken, 5,000n times": (
        "text/plain",
        lambda n: b'a{x="\n"} 1\n' * (5_000 * n) + b'a{x="\n' + b"b 1\n" * (5_000 * n),
    ),
    # where a NUL ends a text body depends on its line (issue 15, round three)
    "a comment of 100,000n NULs, then a bad line": (
        "text/plain",
        lambda n: b"# x" + b"\0" * (100_000 * n) + b"\nbad\n",
    ),
    "10,000n values holding a NUL, then a bad line": (
        "text/plain",
        lambda n: b'a{x="\0"} 1\n' * (10_000 * n) + b"bad\n",
    ),
}

CHILD = """
import sys
from scrape_push.parse import Families, ParseError, format_for
from tests.unit.parse.test_linear import PATHOLOGICAL
content_type, line = PATHOLOGICAL[sys.argv[1]]
for size in (10, 20, 40):
    try:  # the parser's chunks, as the scrape stage reads them (no test harness's conversion)
        for _ in format_for(content_type).chunks(line(size), {}, Families(), False):
            pass
    except ParseError:
        print(size, "refused")
    else:
        print(size, "accepted")
"""


def _cap_cpu() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@pytest.mark.parametrize("case", PATHOLOGICAL)
def test_pathological_lines_are_refused_within_a_cpu_cap(case: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, case],
        capture_output=True,
        text=True,
        preexec_fn=_cap_cpu,
        cwd=Path(__file__).resolve().parents[3],
        env={"PYTHONPATH": f"{PACKAGE}:.", "PATH": "/usr/bin:/bin"},
        timeout=20 * CPU_SECONDS,
        check=False,
    )
    assert child.returncode == 0, (
        f"killed after {CPU_SECONDS}s of CPU ({child.returncode}): {child.stderr[-500:]}"
    )
    assert child.stdout.split("\n") == ["10 refused", "20 refused", "40 refused", ""]
