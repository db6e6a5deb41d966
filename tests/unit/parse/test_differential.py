"""Differential tests against prometheus_client's parsers, applying the documented differences
(docs/parser.md): we keep full series names and drop empty label values; timestamps compared in ms.

Corpus: real exporter output captured in tests/fixtures/exposition/ (devtools.capture_exposition),
plus expositions generated with hypothesis.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as reference_openmetrics
from prometheus_client.parser import text_string_to_metric_families as reference_text
from scrape_push.parse import OPENMETRICS, format_for

from tests.support.parsing import parse_exposition

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "exposition"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"

Series = tuple[str, tuple[tuple[str, str], ...], str, int | None]


def _value(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(float(value))


def ours(data: bytes, content_type: str) -> list[Series]:
    return [(s.name, s.labels, _value(s.value), s.timestamp_ms) for s in parse_exposition(data, content_type)]


def reference(data: bytes, content_type: str) -> list[Series]:
    parse: Any = reference_openmetrics if format_for(content_type) is OPENMETRICS else reference_text
    out: list[Series] = []
    for family in parse(data.decode()):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if v != ""))
            timestamp = None if s.timestamp is None else int(float(s.timestamp) * 1000)
            out.append((s.name, labels, _value(float(s.value)), timestamp))
    return out


FIXTURE_FILES = sorted(FIXTURES.glob("*.txt"))


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_real_exporter_output(path: Path) -> None:
    content_type = path.with_suffix(".content-type").read_text().strip()
    data = path.read_bytes()
    got = ours(data, content_type)
    assert len(got) > 20
    assert sorted(got) == sorted(reference(data, content_type))


def test_fixtures_cover_both_formats_and_both_exporters() -> None:
    names = {p.name for p in FIXTURE_FILES}
    expected = {"node_exporter.text.txt", "prometheus_client.text.txt", "prometheus_client.openmetrics.txt"}
    assert expected <= names
    om = FIXTURES / "prometheus_client.openmetrics.content-type"
    assert format_for(om.read_text()) is OPENMETRICS


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: not n.endswith("_"))
LABEL_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
LABEL_VALUES = st.text(alphabet=st.sampled_from('ab Z09/._-:"\\\n{}=,#é'), max_size=8)
VALUES = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e3", "-1.5E-3", ".5", "0"]),
)

COUNTS = st.one_of(st.integers(0, 10**12).map(str), st.sampled_from(["+Inf", "1.5e3", "0.25"]))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@st.composite
def expositions(draw: st.DrawFn) -> tuple[str, list[str]]:
    kind = draw(st.sampled_from(["counter", "gauge", "untyped"]))
    name = draw(NAMES)
    lines: list[str] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for _ in range(draw(st.integers(1, 6))):
        labels = draw(st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=4))
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        # prometheus_client's OpenMetrics parser refuses negative or NaN counters (Prometheus does not)
        value = draw(COUNTS if kind == "counter" else VALUES)
        lines.append(f"{{{body}}} {value}" if body else f" {value}")
    return f"{kind} {name}", lines


@pytest.mark.once  # long, interpreter-independent: not run again on 3.13
@settings(max_examples=40, deadline=None)
@given(st.lists(expositions(), min_size=1, max_size=4, unique_by=lambda e: e[0].split()[1]))
def test_generated_text_expositions(families: list[tuple[str, list[str]]]) -> None:
    out = []
    for head, lines in families:
        kind, name = head.split()
        sample = f"{name}_total" if kind == "counter" else name
        out.append(f"# HELP {sample} Some help \\\\ text\n# TYPE {sample} {kind}\n")
        out.extend(f"{sample}{line}\n" for line in lines)
    data = "".join(out).encode()
    assert ours(data, TEXT) == reference(data, TEXT)


@settings(max_examples=40, deadline=None)
@given(st.lists(expositions(), min_size=1, max_size=4, unique_by=lambda e: e[0].split()[1]))
def test_generated_openmetrics_expositions(families: list[tuple[str, list[str]]]) -> None:
    out = []
    for head, lines in families:
        kind, name = head.split()
        kind = "unknown" if kind == "untyped" else kind
        sample = f"{name}_total" if kind == "counter" else name
        out.append(f"# HELP {name} Some help\n# TYPE {name} {kind}\n")
        out.extend(f"{sample}{line}\n" for line in lines)
    out.append("# EOF\n")
    data = "".join(out).encode()
    assert ours(data, OM) == reference(data, OM)
