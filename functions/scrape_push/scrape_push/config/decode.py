"""Turn a parsed document into typed, frozen config dataclasses, collecting every problem.

A dataclass field may carry metadata:

* ``key``: the document key when it differs from the attribute (``global`` → ``global_``);
* ``parse``: a callable turning the raw value into the field's value (raise ``FieldError``);
* ``doc``: a one-line description (used for the JSON Schema and the docs).

A dataclass may define ``check(self) -> None`` that raises ``FieldError`` for rules spanning
several fields; the error's ``key`` (if any) is appended to the dataclass's path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, Union

from .document import join_index, join_key
from .errors import ConfigError, FieldError, Problem

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


class _Decoder:
    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        line = self.lines.get(path)
        if line is None and "." in path:
            line = self.lines.get(path.rsplit(".", 1)[0])
        self.problems.append(Problem(path, message, line))

    def value(self, tp: Any, raw: object, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if raw is None:
                return None
            return self.value(options[0], raw, path)
        if origin is typing.Literal:
            choices = typing.get_args(tp)
            if raw not in choices:
                allowed = ", ".join(repr(c) for c in choices)
                self.fail(path, f"must be one of {allowed}, got {raw!r}")
            return raw
        if origin in (list, tuple):
            (item_tp, *_) = typing.get_args(tp)
            if not isinstance(raw, list):
                self.fail(path, f"expected a list, got {_kind(raw)}")
                return ()
            return tuple(self.value(item_tp, item, join_index(path, i)) for i, item in enumerate(raw))
        if origin is dict:
            _, value_tp = typing.get_args(tp)
            if not isinstance(raw, dict):
                self.fail(path, f"expected a mapping, got {_kind(raw)}")
                return {}
            return {k: self.value(value_tp, v, join_key(path, k)) for k, v in raw.items()}
        if dataclasses.is_dataclass(tp):
            return self.dataclass(typing.cast(type, tp), raw, path)
        return self.scalar(tp, raw, path)

    def scalar(self, tp: Any, raw: object, path: str) -> Any:
        if tp is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if tp is Any or (isinstance(raw, tp) and not (tp is int and isinstance(raw, bool))):
            return raw
        self.fail(path, f"expected {_TYPE_NAMES.get(tp, tp.__name__)}, got {_kind(raw)}")
        return None

    def present(self, f: dataclasses.Field[Any], raw: dict[str, object], key: str, path: str) -> bool:
        """Whether the document sets ``key``; a missing required key is reported."""
        if key in raw and not (raw[key] is None and _has_default(f)):
            return True
        if not _has_default(f):
            self.fail(join_key(path, key), "missing required key")
        return False

    def field(self, f: dataclasses.Field[Any], raw: object, path: str, tp: Any) -> Any:
        parse: Callable[[object], Any] | None = f.metadata.get("parse")
        if parse is None:
            return self.value(tp, raw, path)
        try:
            return parse(raw)
        except FieldError as exc:
            self.fail(path, str(exc))
            return None

    def dataclass(self, cls: type, raw: object, path: str) -> Any:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.fail(path, f"expected a mapping, got {_kind(raw)}")
            return None
        hints = typing.get_type_hints(cls)
        fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls) if f.init}
        for key in raw:
            if key not in fields:
                self.fail(join_key(path, key), "unknown key")
        before = len(self.problems)
        kwargs = {
            f.name: self.field(f, raw[key], join_key(path, key), hints[f.name])
            for key, f in fields.items()
            if self.present(f, raw, key, path)
        }
        if len(self.problems) > before:
            return None
        obj = cls(**kwargs)
        check = getattr(obj, "check", None)
        if check is not None:
            try:
                check()
            except FieldError as exc:
                self.fail(_join_relative(path, exc.key), str(exc))
        return obj


def _join_relative(path: str, relative: str | None) -> str:
    """``path`` extended by a relative key path such as ``targets[0]`` or ``a.b``."""
    if not relative:
        return path
    if relative.startswith("[") or not path:
        return path + relative
    return f"{path}.{relative}"


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _kind(raw: object) -> str:
    if raw is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(raw), type(raw).__name__)


def decode(cls: type[T], data: object, lines: dict[str, int] | None = None, source: str = "") -> T:
    """Decode ``data`` into ``cls``; raise ``ConfigError`` listing every problem found."""
    decoder = _Decoder(lines or {})
    result = decoder.dataclass(cls, data, "")
    if decoder.problems or result is None:
        raise ConfigError(decoder.problems, source)
    return typing.cast(T, result)
