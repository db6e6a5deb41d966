"""The configuration's JSON Schema and its effective form, both derived from the dataclasses.

The schema is generated from the same model the validator decodes into, so editor completion
and validation can never disagree with the function. Prometheus's keys scrape-push does not
implement (``prometheus.PROMETHEUS_KEYS``) are listed too, each described: a pasted
prometheus.yml gets the same verdicts in an editor as from ``validate``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, Union

from .decode import KeyRule
from .model import Config
from .prometheus import PROMETHEUS_KEYS, Refused
from .values import FORMATTERS, JSON_SCHEMAS

SCHEMA_ID = "https://scrape-push.dev/schema/config.json"
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    Any: {},
    object: {},
    type(None): {"type": "null"},
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the whole configuration document."""
    definitions: dict[str, Any] = {}
    root = _type_schema(Config, definitions)
    return (
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
            "title": "scrape-push configuration",
            **definitions[Config.__name__],
            "$defs": {name: schema for name, schema in definitions.items() if name != Config.__name__},
        }
        if root
        else {}
    )


def _type_schema(tp: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return {"anyOf": [_type_schema(options[0], definitions), {"type": "null"}]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin in (list, tuple):
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], definitions)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type_schema(typing.get_args(tp)[1], definitions)}
    if dataclasses.is_dataclass(tp):
        name = typing.cast(type, tp).__name__
        if name not in definitions:
            definitions[name] = {}
            definitions[name] = _dataclass_schema(typing.cast(type, tp), definitions)
        return {"$ref": f"#/$defs/{name}"}
    if hasattr(tp, "masked"):
        return {"type": "string", "description": "a secret (never shown back)"}
    return dict(_SCALARS[tp])


def _add_prometheus_keys(cls: type, properties: dict[str, Any]) -> None:
    """The Prometheus keys ``cls`` has no field for, each with its verdict."""
    for key, rule in PROMETHEUS_KEYS.get(cls, {}).items():
        found = properties.get(key)
        if found is None:
            properties[key] = _rule_schema(rule)
        elif found.get("type") == "array":  # a plugin's list; a mapping is Prometheus's section
            properties[key] = {"anyOf": [found, _rule_schema(rule)]}


def _dataclass_schema(cls: type, definitions: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    _properties(cls, definitions, properties, required)
    _add_prometheus_keys(cls, properties)
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if cls.__doc__:
        out["description"] = cls.__doc__.strip().splitlines()[0]
    if required:
        out["required"] = required
    return out


def _properties(
    cls: type, definitions: dict[str, Any], properties: dict[str, Any], required: list[str]
) -> None:
    """The keys of ``cls`` (an ``inline`` field's keys among them) into ``properties``."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("inline"):
            _properties(hints[f.name], definitions, properties, required)
            continue
        if "plugins" in f.metadata:
            for plugin in f.metadata["plugins"].all():
                items = _type_schema(plugin.config, definitions)
                properties[plugin.key] = {"type": "array", "items": items, "default": []}
            continue
        key = f.metadata.get("key", f.name)
        parse = f.metadata.get("parse")
        if parse not in JSON_SCHEMAS:
            schema = _type_schema(hints[f.name], definitions)
        elif type(None) in typing.get_args(hints[f.name]):
            schema = {"anyOf": [dict(JSON_SCHEMAS[parse]), {"type": "null"}]}
        else:
            schema = dict(JSON_SCHEMAS[parse])
        schema.update(_documented(f))
        default = _default(f)
        if default is dataclasses.MISSING:
            required.append(key)
        elif not _shows_no_default(f, default):
            schema["default"] = _encode(default, parse)
        properties[key] = schema


def _rule_schema(rule: KeyRule) -> dict[str, Any]:
    """A key without a field: any value, described; none at all when it is refused."""
    return (
        {"not": {}, "description": rule.summary}
        if isinstance(rule, Refused)
        else {"description": rule.summary}
    )


def _documented(f: dataclasses.Field[Any]) -> dict[str, str]:
    """The field's description: its ``doc``, and what its default is when it is not a value."""
    parts = [f.metadata["doc"]] if "doc" in f.metadata else []
    if "derived" in f.metadata:
        parts.append(f"default: {f.metadata['derived']}")
    if "zero" in f.metadata:
        parts.append(f"default: 0 ({f.metadata['zero']})")
    return {"description": "; ".join(parts)} if parts else {}


def _shows_no_default(f: dataclasses.Field[Any], default: Any) -> bool:
    """Whether the schema leaves the default out: it is computed at load (``derived``), means
    "none" (``zero``), or is an object whose own properties carry their defaults."""
    return "derived" in f.metadata or "zero" in f.metadata or dataclasses.is_dataclass(default)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def effective(obj: Any) -> Any:
    """The configuration as plain data with every default filled in, secrets masked; a limit
    that is off (0) is left out, as Prometheus prints its configuration."""
    return _encode(obj, None)


def _encode(value: Any, parse: Callable[[object], Any] | None) -> Any:
    if hasattr(value, "masked"):
        return value.masked()
    formatter = typing.cast(Callable[[object], object] | None, FORMATTERS.get(parse))
    if formatter is not None and value is not None:
        return formatter(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dict(_encoded_fields(value))
    if isinstance(value, (list, tuple)):
        return [_encode(v, None) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v, None) for k, v in value.items()}
    return value


def _encoded_fields(obj: Any) -> Iterator[tuple[str, Any]]:
    """A dataclass's keys and encoded values; a plugin field gives one key per plugin."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if "plugins" in f.metadata:
            for plugin in f.metadata["plugins"].all():
                yield plugin.key, [_encode(entry, None) for entry in value.get(plugin.key, ())]
        elif f.metadata.get("inline"):
            yield from _encoded_fields(value)
        elif not ("zero" in f.metadata and value == 0):
            yield f.metadata.get("key", f.name), _encode(value, f.metadata.get("parse"))
