"""Read a YAML (or JSON) configuration document, keeping the line of every key for errors."""

from __future__ import annotations

import json
import re

import yaml

from .errors import ConfigError, Problem

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_key(path: str, key: str) -> str:
    """Extend a key path with a mapping key: ``a.b``, or ``a["odd key"]`` when needed."""
    if _SIMPLE_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def join_index(path: str, index: int) -> str:
    """Extend a key path with a list index: ``a[3]``."""
    return f"{path}[{index}]"


def load_document(text: str) -> tuple[object, dict[str, int]]:
    """Parse ``text`` and return the data plus a map from key path to 1-based line number.

    JSON is accepted (it is parsed as YAML, of which it is a subset, unless it starts with
    ``{``, where the JSON parser gives better messages). Errors raise ``ConfigError``.
    """
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise ConfigError([Problem("", f"invalid JSON: {exc.msg}", exc.lineno)]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        data = _build(loader, node, "", lines) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError([Problem("", f"invalid YAML: {reason}", line)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, lines


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: str, lines: dict[str, int]) -> object:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[object, object] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ConfigError(
                    [Problem(path, f"mapping key {key!r} is not a string", key_node.start_mark.line + 1)]
                )
            if key in out:
                raise ConfigError(
                    [Problem(join_key(path, key), "duplicate key", key_node.start_mark.line + 1)]
                )
            child = join_key(path, key)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = join_index(path, index)
            lines[child] = item.start_mark.line + 1
            items.append(_build(loader, item, child, lines))
        return items
    return loader.construct_object(node, deep=True)
