"""Turn a parsed document into typed, frozen config dataclasses, collecting every problem.

A dataclass field may carry metadata:

* ``key``: the document key when it differs from the attribute (``global`` → ``global_``);
* ``parse``: a callable turning the raw value into the field's value (raise ``FieldError``);
* ``validate``: a callable checking the decoded value alone (raise ``FieldError``, whose
  ``key`` is relative to the field, or ``FieldErrors``);
* ``doc``: a one-line description (used for the JSON Schema and the docs);
* ``derived``: for a field whose default is computed at load (``resolve``), what it is
  derived from, in words (the schema shows it instead of a default);
* ``zero``: what the value 0 means (``no limit``): ``show`` leaves such a field out when it is 0;
* ``plugins``: a ``plugins.Registry``. The field has no key of its own: each key a plugin of the
  registry serves is a key of the object, holding a list of that plugin's ``config``; the field
  maps each key the document fills, in key order, to its decoded entries. A plugin is imported
  only when the document sets its key; every key counts as known (and for "did you mean");
* ``inline``: the field (a dataclass) has no key of its own either: its keys are keys of the
  object (Go's ``yaml:",inline"``, as Prometheus embeds its HTTP client options in a job).

A dataclass may define ``check(self) -> None`` that raises ``FieldError`` (one problem) or
``FieldErrors`` (several, see ``raise_all``) for rules spanning several fields; a problem's
``key`` (if any) is appended to the dataclass's path. It may define ``resolve(self)`` returning
the object with the defaults that depend on other fields filled in (Prometheus fills them at
load too); it runs after ``check()``.

A key the dataclass has no field for is unknown (an error with a "did you mean"), unless the
``rules`` given to ``decode`` have a ``KeyRule`` for it under that dataclass: the rule judges the
value and the key is accepted quietly, accepted with a warning (``ConfigWarning``, once per key
path) or refused (an error). Keys the dataclass or a plugin serves never reach a rule, so a rule
stands only for what is not implemented. This is how a pasted prometheus.yml's keys that mean
nothing here are told apart from typos.

Every problem is reported in one pass. Each field is decoded and validated on its own, so one bad
field never hides another; an object with a bad field is still built (its default stands in) and
handed to its parent, whose ``check()`` runs as usual (``check()`` of the object itself needs
every field it compares, so it waits for the fix). A list item that cannot be built at all (a
required key missing) is left out, and the positions its parent's ``check()`` names are mapped
back to the document's.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar, Union

from .document import components, join_index, join_key, parent
from .errors import ConfigError, ConfigWarning, FieldError, FieldErrors, Problem

T = TypeVar("T")

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
_INVALID: Any = object()
"""A value that could not be decoded (its problem is reported)."""
_SUGGEST_MAX_KEY = 64
"""Keys longer than this get no "did you mean" (no key of the format is near that long)."""


class Verdict(NamedTuple):
    """What a ``KeyRule`` makes of a value: refused (an error) or accepted with a warning."""

    refused: bool
    message: str


class KeyRule(Protocol):
    """What to do with a key a dataclass has no field for (see the module docstring)."""

    @property
    def summary(self) -> str:
        """One line for the JSON Schema and the docs: what the key does here."""
        ...

    def judge(self, raw: object) -> Verdict | None:
        """The verdict on the document's value; ``None``: accepted quietly."""
        ...


KeyRules = Mapping[type, Mapping[str, KeyRule]]
"""Per dataclass: its keys without a field, each with its rule."""


class _Decoder:
    def __init__(self, lines: dict[str, int], rules: KeyRules) -> None:
        self.lines = lines
        self.rules = rules
        self.problems: list[Problem] = []
        self.warnings: dict[str, ConfigWarning] = {}
        """Per key path, its warning (a path warns once, however often it is decoded)."""
        self.positions: dict[str, list[int]] = {}
        """Per list path: the document index of each item kept (only lists that lost items)."""

    def line(self, path: str) -> int | None:
        """The line of ``path`` or of its nearest ancestor the document has."""
        while True:
            line = self.lines.get(path)
            if line is not None or not path:
                return line
            path = parent(path)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, self.line(path)))

    def unimplemented(self, cls: type, raw: dict[str, object], path: str, known: list[str]) -> set[str]:
        """Judge each key of ``raw`` that is not in ``known``, by its rule, else as unknown. The
        keys refused or unknown are returned: they stand for settings the object lacks."""
        rules = self.rules.get(cls, {})
        refused = set()
        for key, value in raw.items():
            if key in known:
                continue
            key_path = join_key(path, key)
            rule = rules.get(key)
            verdict = None if rule is None else rule.judge(value)
            if rule is None:
                self.fail(key_path, "unknown key" + _suggestion(key, [*known, *rules]))
                refused.add(key)
            elif verdict is not None and verdict.refused:
                self.fail(key_path, verdict.message)
                refused.add(key)
            elif verdict is not None:
                warning = ConfigWarning(key_path, verdict.message, self.line(key_path))
                self.warnings.setdefault(key_path, warning)
        return refused

    def original(self, path: str, relative: str | None) -> str:
        """``path`` extended by a key a ``check()`` gave (``relative``), whose list indices count
        the items built, mapped back to the items' indices in the document."""
        if not relative:
            return path
        out = path
        for part in components(relative):
            kept = self.positions.get(out)
            index = part[1:-1]
            mapped = f"[{kept[int(index)]}]" if kept is not None and index.isdigit() else part
            out = _join_relative(out, mapped.lstrip("."))
        return out

    def value(self, tp: Any, raw: object, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            if raw is None:
                return None
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            return self.value(options[0], raw, path)
        if origin is typing.Literal:
            choices = typing.get_args(tp)
            if not any(type(raw) is type(c) and raw == c for c in choices):
                allowed = ", ".join(repr(c) for c in choices)
                self.fail(path, f"must be one of {allowed}, got {_shown(raw)}")
                return _INVALID
            return raw
        if origin in (list, tuple):
            return self.sequence(typing.get_args(tp)[0], raw, path)
        if origin is dict:
            if not isinstance(raw, dict):
                self.fail(path, f"expected a mapping, got {kind_of(raw)}")
                return _INVALID
            value_tp = typing.get_args(tp)[1]
            out = {k: self.value(value_tp, v, join_key(path, k)) for k, v in raw.items()}
            return _INVALID if any(v is _INVALID for v in out.values()) else out
        if dataclasses.is_dataclass(tp):
            return self.dataclass(typing.cast(type, tp), raw, path)
        return self.scalar(tp, raw, path)

    def sequence(self, item_tp: Any, raw: object, path: str) -> Any:
        if not isinstance(raw, list):
            self.fail(path, f"expected a list, got {kind_of(raw)}")
            return _INVALID
        items, kept = [], []
        for index, item in enumerate(raw):
            value = self.value(item_tp, item, join_index(path, index))
            if value is _INVALID:
                if not dataclasses.is_dataclass(item_tp):
                    return _INVALID
                continue
            items.append(value)
            kept.append(index)
        if len(kept) != len(raw):
            self.positions[path] = kept
        return tuple(items)

    def scalar(self, tp: Any, raw: object, path: str) -> Any:
        if tp is float and isinstance(raw, int) and not isinstance(raw, bool):
            return float(raw)
        if tp is Any or (isinstance(raw, tp) and not (tp is int and isinstance(raw, bool))):
            return raw
        self.fail(path, f"expected {_TYPE_NAMES.get(tp, tp.__name__)}, got {kind_of(raw)}")
        return _INVALID

    def present(self, f: dataclasses.Field[Any], raw: dict[str, object], key: str, path: str) -> bool:
        """Whether the document sets ``key``; a missing required key is reported."""
        if key in raw and not (raw[key] is None and _has_default(f)):
            return True
        if not _has_default(f):
            self.fail(join_key(path, key), "missing required key")
        return False

    def field(self, f: dataclasses.Field[Any], raw: object, path: str, tp: Any) -> Any:
        parse: Callable[[object], Any] | None = f.metadata.get("parse")
        validate: Callable[[Any], None] | None = f.metadata.get("validate")
        try:
            value = self.value(tp, raw, path) if parse is None else parse(raw)
            if validate is not None and value is not _INVALID and value is not None:
                validate(value)
        except FieldError as exc:
            for error in exc.errors if isinstance(exc, FieldErrors) else [exc]:
                self.fail(_join_relative(path, error.key), str(error))
            return _INVALID
        except ValueError as exc:  # a parser's library refused the text (urlsplit, int ...)
            self.fail(path, str(exc)[:200])
            return _INVALID
        return value

    def dataclass(self, cls: type, raw: object, path: str) -> Any:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.fail(path, f"expected a mapping, got {kind_of(raw)}")
            return _INVALID
        hints = type_hints(cls)
        own = [f for f in dataclasses.fields(cls) if f.init]
        plugged = {f.name: f.metadata["plugins"] for f in own if "plugins" in f.metadata}
        inlined = {f.name: hints[f.name] for f in own if f.metadata.get("inline")}
        fields = {
            f.metadata.get("key", f.name): f for f in own if f.name not in plugged and f.name not in inlined
        }
        served = [key for registry in plugged.values() for key in registry.served()]
        # A plugin's section is a list; a mapping under the same key is Prometheus's section of
        # that name (its ``otlp:`` receiver settings), judged by the key's rule.
        shadowed = {k for k in served if isinstance(raw.get(k), dict) and k in self.rules.get(cls, {})}
        known = [
            *fields,
            *(key for key in served if key not in shadowed),
            *(key for tp in inlined.values() for key in inline_keys(tp)),
        ]
        kwargs: dict[str, Any] = {}
        failed = self.unimplemented(cls, raw, path, known)
        for name, registry in plugged.items():
            kwargs[name] = self.plugged(registry, raw, path, failed, skip=shadowed)
        kwargs.update(self.inlined(inlined, raw, path, failed))
        for key, f in fields.items():
            if not self.present(f, raw, key, path):
                if not _has_default(f):
                    failed.add(key)
                continue
            value = self.field(f, raw[key], join_key(path, key), hints[f.name])
            if value is _INVALID:
                failed.add(key)
            else:
                kwargs[f.name] = value
        if any(key in fields and not _has_default(fields[key]) for key in failed):
            return _INVALID
        try:
            obj = cls(**kwargs)
        except FieldError as exc:
            self.report(path, [exc])
            return _INVALID
        return self.checked(obj, path, failed)

    def inlined(
        self, inlined: dict[str, type], raw: dict[str, object], path: str, failed: set[str]
    ) -> dict[str, Any]:
        """Each ``inline`` field decoded from its keys of the object (fields that fail go to ``failed``)."""
        out: dict[str, Any] = {}
        for name, tp in inlined.items():
            keys = inline_keys(tp)
            value = self.dataclass(tp, {k: v for k, v in raw.items() if k in keys}, path)
            if value is _INVALID:
                failed.add(name)
            else:
                out[name] = value
        return out

    def plugged(
        self, registry: Any, raw: dict[str, object], path: str, failed: set[str], skip: set[str]
    ) -> dict[str, Any]:
        """Each key of ``registry`` that ``raw`` sets, but those in ``skip`` -> its entries (keys
        that fail go to ``failed``)."""
        out: dict[str, Any] = {}
        for key in registry.served():
            if raw.get(key) is None or key in skip:
                continue
            entries = self.sequence(registry.get(key).config, raw[key], join_key(path, key))
            if entries is _INVALID:
                failed.add(key)
            elif entries:
                out[key] = entries
        return out

    def checked(self, obj: Any, path: str, failed: set[str]) -> Any:
        """``obj`` after its ``check()`` (problems reported) and ``resolve()``. With a field that
        failed, rules spanning several fields cannot be judged: ``check()`` is left out."""
        check = getattr(obj, "check", None)
        if check is not None and not failed:
            try:
                check()
            except FieldErrors as many:
                self.report(path, many.errors)
            except FieldError as exc:
                self.report(path, [exc])
        resolve = getattr(obj, "resolve", None)
        return obj if resolve is None else resolve()

    def report(self, path: str, errors: Iterable[FieldError]) -> None:
        for exc in errors:
            message = str(exc)
            if exc.first is not None:
                first = self.original(path, exc.first)
                line = self.line(first)
                message += f", first at {first}" + (f" on line {line}" if line is not None else "")
            self.fail(self.original(path, exc.key), message)


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)``, evaluated once per class: a configuration is decoded
    several times at a cold start (each fragment, then the whole), and evaluating the
    annotations of every dataclass each time was a sixth of a cold invocation's CPU. The
    classes are the package's own and never change; callers only read the mapping."""
    return typing.get_type_hints(cls)


def inline_keys(cls: type) -> list[str]:
    """The document keys of an ``inline`` dataclass (its own inline fields' keys included)."""
    hints = type_hints(cls)
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("inline"):
            keys += inline_keys(hints[f.name])
        elif f.init:
            keys.append(f.metadata.get("key", f.name))
    return keys


def _suggestion(key: str, fields: Iterable[str]) -> str:
    if len(key) > _SUGGEST_MAX_KEY:
        return ""
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def _join_relative(path: str, relative: str | None) -> str:
    """``path`` extended by a relative key path such as ``targets[0]`` or ``a.b``."""
    if not relative:
        return path
    if relative.startswith("[") or not path:
        return path + relative
    return f"{path}.{relative}"


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _shown(raw: object) -> str:
    """A scalar as a message quotes it (at most 60 characters); other values by their kind."""
    if isinstance(raw, (dict, list)) or raw is None:
        return kind_of(raw)
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def kind_of(raw: object) -> str:
    """How a message names the kind of a document value (``a string``, ``a list`` ...)."""
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


def decode(
    cls: type[T],
    data: object,
    lines: dict[str, int] | None = None,
    source: str = "",
    *,
    rules: KeyRules | None = None,
    warnings: list[ConfigWarning] | None = None,
) -> T:
    """Decode ``data`` into ``cls``, judging keys without a field by ``rules``; raise
    ``ConfigError`` listing every problem found, in document order. ``warnings``, when given,
    receives the warnings of a valid document, in document order."""
    decoder = _Decoder(lines or {}, rules or {})
    result = decoder.dataclass(cls, data, "")
    if decoder.problems or result is _INVALID:
        raise ConfigError(_in_document_order(decoder.problems), source)
    if warnings is not None:
        warnings.extend(_in_document_order(list(decoder.warnings.values())))
    return typing.cast(T, result)


P = TypeVar("P", bound=Problem)


def _in_document_order(found: list[P]) -> list[P]:
    return sorted(found, key=lambda p: (p.line is None, p.line or 0))
