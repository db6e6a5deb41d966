"""Read a YAML (or JSON) configuration document, keeping the line of every key for errors."""

from __future__ import annotations

import json
import re

import yaml

from .errors import ConfigError, Problem

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One component of a key path as join_key/join_index write it: `.name` (or a leading `name`),
# `[3]`, or `["odd key"]` (a JSON string). No alternative overlaps another: linear time.
_COMPONENT = re.compile(r'\.?[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\]')

MAX_DOCUMENT_NODES = 100_000
"""Mappings, lists and scalars in one document once YAML aliases are expanded. The largest SSM
parameter (8 KB, advanced tier) holds a few thousand; aliases that refer to aliases can expand a
small text exponentially (a "billion laughs"), which this bound stops before memory does."""

_YAML_HINTS = {
    "found character '\\t' that cannot start any token": "indent with spaces, not tabs",
    "mapping values are not allowed here": "quote a value that contains ': '",
    "expected ',' or '}', but got ':'": "quote a value that contains ': '",
    "expected <block end>, but found '<block mapping start>'": "check the indentation",
    "expected <block end>, but found '<block sequence start>'": "check the indentation",
}
"""Plain-words hints for PyYAML's most frequent syntax errors."""


def join_key(path: str, key: str) -> str:
    """Extend a key path with a mapping key: ``a.b``, or ``a["odd key"]`` when needed."""
    if _SIMPLE_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def join_index(path: str, index: int) -> str:
    """Extend a key path with a list index: ``a[3]``."""
    return f"{path}[{index}]"


def components(path: str) -> list[str]:
    """The components of a key path as written (``a``, ``.b``, ``[3]``, ``["odd key"]``), or
    ``[path]`` for a path not written by ``join_key``/``join_index`` (``headers.X-Id``)."""
    parts = _COMPONENT.findall(path)
    return parts if "".join(parts) == path else [path]


def parent(path: str) -> str:
    """The key path one level up (``a.b[3]`` → ``a.b``); ``""`` for a top-level key."""
    parts = components(path)
    if len(parts) > 1:
        return "".join(parts[:-1])
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def load_document(text: str) -> tuple[object, dict[str, int]]:
    """Parse ``text`` and return the data plus a map from key path to 1-based line number.

    JSON is read by the JSON parser (so numbers and strings mean what JSON says), with line
    numbers from reading the same text as YAML, of which JSON is nearly a subset. A text that
    starts with ``{`` but is not JSON is read as YAML (a flow mapping). Errors raise
    ``ConfigError`` with the line and column.
    """
    try:
        if text.lstrip().startswith("{"):
            return _load_json(text)
        return _load_yaml(text)
    except RecursionError:
        raise ConfigError(
            [Problem("", "the document is nested too deeply (or an alias refers to itself)")]
        ) from None


def _load_json(text: str) -> tuple[object, dict[str, int]]:
    as_yaml: tuple[object, dict[str, int]] | None = None
    try:
        as_yaml = _load_yaml(text)
    except ConfigError as exc:
        if any(p.message.startswith("duplicate key") for p in exc.problems):
            raise
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        if as_yaml is not None:  # not JSON but a YAML flow mapping
            return as_yaml
        raise ConfigError([Problem("", f"invalid JSON: {exc.msg}", exc.lineno, column=exc.colno)]) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise ConfigError([Problem("", f"invalid JSON: {str(exc).split(';')[0]}")]) from None
    return data, as_yaml[1] if as_yaml is not None else {}


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a repeated key (JSON parsers disagree on which one wins)."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ConfigError([Problem("", f"duplicate key {key!r}")])
        out[key] = value
    return out


def _load_yaml(text: str) -> tuple[object, dict[str, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        data = _Builder(loader, lines).build(node, "") if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, lines


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    """One line: what PyYAML found, a hint in plain words, where it started, line and column."""
    mark = exc.problem_mark or exc.context_mark
    problem = str(exc.problem or exc.context or "syntax error")
    message = f"invalid YAML: {problem}"
    hint = _YAML_HINTS.get(problem)
    if hint:
        message += f"; {hint}"
    context = exc.context_mark
    if exc.context and exc.problem and context is not None and (mark is None or context.line != mark.line):
        message += f" ({exc.context} at line {context.line + 1})"
    if mark is None:
        return Problem("", message)
    return Problem("", message, mark.line + 1, column=mark.column + 1)


class _Builder:
    """Builds plain data from YAML nodes, recording lines and counting nodes (aliases expanded)."""

    def __init__(self, loader: yaml.SafeLoader, lines: dict[str, int]) -> None:
        self.loader = loader
        self.lines = lines
        self.nodes = 0

    def build(self, node: yaml.Node, path: str) -> object:
        self.nodes += 1
        if self.nodes > MAX_DOCUMENT_NODES:
            raise ConfigError(
                [
                    Problem(
                        "",
                        f"the document has more than {MAX_DOCUMENT_NODES:,} values once aliases are expanded",
                    )
                ]
            )
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = join_index(path, index)
                self.lines[child] = item.start_mark.line + 1
                items.append(self.build(item, child))
            return items
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: str) -> object:
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            reason = str(exc).split(";")[0]
            raise ConfigError([Problem(path, f"invalid value: {reason}", node.start_mark.line + 1)]) from None

    def mapping(self, node: yaml.MappingNode, path: str) -> dict[object, object]:
        own = {id(key_node) for key_node, _ in node.value}
        self.loader.flatten_mapping(node)
        out: dict[object, object] = {}
        # A key written in the mapping itself is unique and overrides one merged in with `<<`;
        # among merged keys the first wins (YAML's merge key rules).
        for key_node, value_node in sorted(node.value, key=lambda pair: id(pair[0]) not in own):
            key = self.key(key_node, path)
            child = join_key(path, key)
            if key in out:
                if id(key_node) not in own:
                    continue
                first = self.lines.get(child)
                where = f", first on line {first}" if first is not None else ""
                raise ConfigError([Problem(child, f"duplicate key{where}", key_node.start_mark.line + 1)])
            self.lines[child] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, child)
        return out

    def key(self, node: yaml.Node, path: str) -> str:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):
            raise ConfigError([Problem(path, "a mapping key must be a string, not a collection", line)])
        key = self.scalar(node, path)
        if not isinstance(key, str):
            raise ConfigError([Problem(path, f"mapping key {key!r} is not a string", line)])
        return key
