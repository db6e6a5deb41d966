"""Bounded fuzzing of the configuration decoder: whatever the document, only ``ConfigError`` comes
out, and every problem names a key path of the document (or the document itself).

Three sources of documents: arbitrary YAML-ish data whose keys are mostly the format's own,
mutations of valid documents (a value replaced, a key dropped or added), and valid YAML texts
with characters inserted, removed or replaced. Runs are derandomized, so a failure is the same
on every machine; inputs that once crashed the decoder are kept as explicit examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scrape_push.config.decode import decode
from scrape_push.config.document import components
from scrape_push.config.errors import ConfigError, Problem
from scrape_push.config.model import Config
from scrape_push.config.schema import json_schema
from scrape_push.config.source import parse_config

pytestmark = pytest.mark.once  # long and interpreter-independent: not run again on 3.13

ROOT = Path(__file__).resolve().parents[3]
VALID_TEXTS = [
    (ROOT / "events" / "demo-config.yaml").read_text(),
    *(path.read_text() for path in sorted((ROOT / "docs" / "examples").glob("*.yaml"))),
]
BOUNDED = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
DOCUMENT_PROBLEMS = (
    "invalid YAML",
    "invalid JSON",
    "expected a mapping",
    "the document",
    "duplicate key",
    "mapping key",
    "a mapping key",
)
"""Messages about the document as a whole (or a key of its top-level mapping, with its line):
the only ones without a key path."""


def _keys(schema: dict[str, Any]) -> list[str]:
    names = set(schema["properties"])
    for definition in schema["$defs"].values():
        names |= set(definition["properties"])
    return sorted(names)


KEYS = _keys(json_schema())
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["10s", "1m30s", "0", "1x", "64MB", "http", "cumulative", "job", "le", "", ".*", "(", "a:1"]
    ),
    st.text(max_size=12),
)
KEY = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=5)),
    max_leaves=40,
)


def _resolves(data: Any, path: str) -> bool:
    """Whether ``path`` names something in ``data``, or a key missing from an existing mapping."""
    parts = components(path)
    if "".join(parts) != path:  # a key with odd characters inside a `.`-joined path
        parts = [parts[0].split(".", 1)[0]]
    node = data
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part.startswith("["):
            inner = part[1:-1]
            key: Any = int(inner) if inner.isdigit() else json.loads(inner)
        else:
            key = part.lstrip(".")
        listed = isinstance(node, list) and isinstance(key, int) and key < len(node)
        if listed or (isinstance(node, dict) and key in node):
            node = node[key]
        else:
            return last and isinstance(node, dict | type(None))
    return True


def _check(problems: list[Problem], data: Any) -> None:
    assert problems, "a ConfigError names at least one problem"
    for problem in problems:
        assert "\n" not in str(problem), repr(str(problem))
        if problem.path:
            assert _resolves(data, problem.path), f"{problem} names no key of the document"
        else:
            assert problem.message.startswith(DOCUMENT_PROBLEMS), str(problem)


def _decode(data: Any) -> None:
    try:
        decode(Config, data)
    except ConfigError as exc:
        _check(exc.problems, data)


@BOUNDED
@given(
    st.dictionaries(
        st.sampled_from(["global", "scrape_configs", "cloudwatch", "graphite", "remote_write", "runtime"]),
        DATA,
        max_size=6,
    )
)
@example({"global": {"scrape_interval": "9" * 400 + "s"}})
@example({"scrape_configs": [{"job_name": "a", "body_size_limit": "99999999999EB"}]})
@example({"scrape_configs": [{"metrics_path": "/m"}, {"job_name": "a"}, {"job_name": "a"}]})
@example({"cloudwatch": [{"namespace": "N", "storage_resolution": True}]})
@example({"global": {"A\n": None}})
@example({"remote_write": [{"url": "http://[::1"}]})
def test_arbitrary_documents_give_only_config_errors_naming_their_keys(data: dict[str, Any]) -> None:
    _decode(data)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    data = yaml.safe_load(draw(st.sampled_from(VALID_TEXTS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        operation = draw(st.sampled_from(["replace", "drop", "add"]))
        if operation == "replace":
            parent[path[-1]] = draw(DATA)
        elif operation == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(KEY)] = draw(DATA)
        else:
            parent.append(draw(DATA))
    return data


@BOUNDED
@given(mutated())
def test_mutated_valid_documents_give_only_config_errors_naming_their_keys(data: Any) -> None:
    _decode(data)


@st.composite
def garbled(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        junk = draw(
            st.sampled_from(["", ":", "-", " ", "\t", "\n", "[", "{", "}", '"', "'", "&a", "*a", "!x", "#"])
        )
        cut = draw(st.integers(0, 3))
        text = text[:at] + junk + text[at + cut :]
    return text


@BOUNDED
@given(garbled())
@example("a: &a [*a]\n")
@example("{" + '"a": [' * 3000 + "]" * 3000 + "}")
def test_garbled_texts_give_only_config_errors_naming_their_keys(text: str) -> None:
    try:
        parse_config(text)
    except ConfigError as exc:
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError, ValueError):
            data = None
        _check(exc.problems, data)


@pytest.mark.parametrize("text", VALID_TEXTS[:1])
def test_the_seed_documents_are_valid(text: str) -> None:
    parse_config(text)
