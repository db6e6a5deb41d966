"""Prometheus's relabeling: ``relabel_configs`` and ``metric_relabel_configs`` rules.

The rules mean what they mean in Prometheus (model/relabel): the defaults (``replace``,
separator ``;``, regex ``(.*)``, replacement ``$1``), fully anchored RE2 regexes, Go's
``$1``/``${1}``/``$name`` expansion, an empty result deleting the target label, and the same
load-time validation and messages. Rules are compiled once (``compile_rules``); ``relabel``
then runs them without compiling anything.

>>> rules = compile_rules([RelabelConfig(source_labels=("a",), regex="f(.*)",
...                                      target_label="d", replacement="ch${1}")])
>>> relabel({"a": "foo"}, rules)
{'a': 'foo', 'd': 'choo'}
"""

from __future__ import annotations

import hashlib
import json
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .config.errors import FieldError
from .config.values import LABEL_NAME
from .re2 import RE2SyntaxError, compile_anchored

Action = Literal[
    "replace",
    "keep",
    "drop",
    "keepequal",
    "dropequal",
    "hashmod",
    "labelmap",
    "labeldrop",
    "labelkeep",
    "lowercase",
    "uppercase",
]
ACTIONS: tuple[str, ...] = typing.get_args(Action)

DEFAULT_SEPARATOR = ";"
DEFAULT_REGEX = "(.*)"
DEFAULT_REPLACEMENT = "$1"

_NEEDS_TARGET = frozenset({"replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"})
_CASE_OR_EQUAL = frozenset({"lowercase", "uppercase", "keepequal", "dropequal"})
# Prometheus's rule for a target_label (replace) or replacement (labelmap) holding $ references:
# a label name in which $name / ${name} may stand for name characters.
_TEMPLATE_NAME = re.compile(r"(?:[A-Za-z_]|\$(?:\{\w+\}|\w))(?:\w|\$(?:\{\w+\}|\w))*", re.ASCII)


def _quote(text: str) -> str:
    """Quote like Go's ``%q``, as Prometheus's messages do."""
    return json.dumps(text, ensure_ascii=False)


def _parse_action(raw: object) -> str:
    if not isinstance(raw, str):
        raise FieldError(f"expected a string, got {type(raw).__name__}")
    action = raw.lower()
    if action not in ACTIONS:
        raise FieldError(f"unknown relabel action {_quote(raw)}")
    return action


def _parse_text(raw: object) -> str:
    """A string; YAML numbers are taken as their text, as Prometheus's YAML decoder does."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise FieldError(f"expected a string, got {type(raw).__name__}")


def _parse_regex(raw: object) -> str:
    pattern = _parse_text(raw)
    try:
        compile_anchored(pattern)
    except RE2SyntaxError as exc:
        raise FieldError(f"invalid regular expression `{pattern}`: {exc}") from None
    return pattern


def _parse_modulus(raw: object) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise FieldError(f"expected a non-negative integer, got {type(raw).__name__}")
    if raw < 0:
        raise FieldError("must not be negative")
    return raw


@dataclass(frozen=True)
class RelabelConfig:
    """One ``relabel_configs[]`` / ``metric_relabel_configs[]`` rule, as in prometheus.yml."""

    source_labels: tuple[str, ...] = field(
        default=(), metadata={"doc": "labels whose values are joined with 'separator' and matched"}
    )
    separator: str = field(
        default=DEFAULT_SEPARATOR, metadata={"parse": _parse_text, "doc": "joins the source values"}
    )
    regex: str = field(
        default=DEFAULT_REGEX,
        metadata={"parse": _parse_regex, "doc": "RE2 regular expression, anchored at both ends"},
    )
    modulus: int = field(default=0, metadata={"parse": _parse_modulus, "doc": "for 'hashmod'"})
    target_label: str = field(default="", metadata={"doc": "label written by replace, hashmod, ..."})
    replacement: str = field(
        default=DEFAULT_REPLACEMENT,
        metadata={"parse": _parse_text, "doc": "value written on a match; $1, ${name} expand"},
    )
    action: Action = field(
        default="replace",
        metadata={"parse": _parse_action, "doc": "one of " + ", ".join(ACTIONS)},
    )

    def check(self) -> None:
        """Prometheus's load-time validation (model/relabel ``Config.Validate``), same messages."""
        for index, name in enumerate(self.source_labels):
            if not LABEL_NAME.match(name):
                raise FieldError(f"{_quote(name)} is not a valid label name", f"source_labels[{index}]")
        action, target = self.action, self.target_label
        if action == "hashmod" and self.modulus == 0:
            raise FieldError("relabel configuration for hashmod requires non-zero modulus", "modulus")
        if action in _NEEDS_TARGET and not target:
            raise FieldError(
                f"relabel configuration for {action} action requires 'target_label' value", "target_label"
            )
        invalid_target = FieldError(
            f"{_quote(target)} is invalid 'target_label' for {action} action", "target_label"
        )
        if action == "replace" and not (_TEMPLATE_NAME if "$" in target else LABEL_NAME).fullmatch(target):
            raise invalid_target
        if action in _CASE_OR_EQUAL and not LABEL_NAME.fullmatch(target):
            raise invalid_target
        if action in _CASE_OR_EQUAL and self.replacement != DEFAULT_REPLACEMENT:
            raise FieldError(f"'replacement' can not be set for {action} action", "replacement")
        if action == "labelmap" and not _TEMPLATE_NAME.fullmatch(self.replacement):
            raise FieldError(
                f"{_quote(self.replacement)} is invalid 'replacement' for {action} action", "replacement"
            )
        if action == "hashmod" and not LABEL_NAME.fullmatch(target):
            raise invalid_target
        defaults = (
            self.modulus == 0
            and self.separator == DEFAULT_SEPARATOR
            and self.replacement == DEFAULT_REPLACEMENT
        )
        if action in ("keepequal", "dropequal") and not (defaults and self.regex == DEFAULT_REGEX):
            raise FieldError(
                f"{action} action requires only 'source_labels' and `target_label`, and no other fields"
            )
        if action in ("labeldrop", "labelkeep") and (self.source_labels or target or not defaults):
            raise FieldError(f"{action} action requires only 'regex', and no other fields")


Step = Callable[[dict[str, str]], bool]
"""One compiled rule: mutates the label set in place; False means the set is dropped."""


@dataclass(frozen=True)
class RelabelRules:
    """Rules compiled once by ``compile_rules``; apply them with ``relabel``."""

    steps: tuple[Step, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)


NO_RULES = RelabelRules()


def compile_rules(configs: Iterable[RelabelConfig]) -> RelabelRules:
    """Compile validated rules (regexes, replacement templates) for repeated use."""
    steps = tuple(_compile(config) for config in configs)
    return RelabelRules(steps) if steps else NO_RULES


def relabel(labels: Mapping[str, str], rules: RelabelRules) -> dict[str, str] | None:
    """Apply ``rules`` in order to a copy of ``labels``; ``None`` when a rule drops the set.

    Empty-valued labels are absent from the result, as in Prometheus, where setting a label to
    the empty string deletes it.
    """
    out = {name: value for name, value in labels.items() if value}
    return out if _applied(out, rules) else None


def _applied(labels: dict[str, str], rules: RelabelRules) -> bool:
    """Apply ``rules`` to ``labels`` in place; False when a rule drops the set."""
    return all(step(labels) for step in rules.steps)


class _Written(dict[str, str]):
    """A label set that remembers the names a rule set or deleted, as Prometheus's
    ``labels.Builder`` does: a name it sets or deletes replaces every label of that name in the
    labels it was built from, a repeated one included, even when the value is the one it had."""

    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__(labels)
        self.written: set[str] = set()

    def __setitem__(self, name: str, value: str) -> None:
        self.written.add(name)
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self.written.add(name)
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        self.written.add(name)
        return super().pop(name, *default)


def relabel_written(labels: Mapping[str, str], rules: RelabelRules) -> tuple[dict[str, str] | None, set[str]]:
    """``relabel``, and the names its rules set or deleted (for a series that repeats a label
    name: what the rules write is one label, what they leave stays repeated). The rare path:
    ``relabel`` itself pays nothing for it."""
    out = _Written({name: value for name, value in labels.items() if value})
    return (dict(out) if _applied(out, rules) else None), out.written


# Compilation.


def _compile(config: RelabelConfig) -> Step:
    regex, group_names = compile_anchored(config.regex)
    match = regex.fullmatch
    value = _joiner(config.source_labels, config.separator)
    action, target = config.action, config.target_label

    if action == "replace":
        return _replace_step(match, value, target, config.replacement, group_names)
    if action == "keep":
        return lambda labels: match(value(labels)) is not None
    if action == "drop":
        return lambda labels: match(value(labels)) is None
    if action == "keepequal":
        return lambda labels: labels.get(target, "") == value(labels)
    if action == "dropequal":
        return lambda labels: labels.get(target, "") != value(labels)
    if action == "hashmod":
        modulus = config.modulus

        def hashmod(labels: dict[str, str]) -> bool:
            digest = hashlib.md5(value(labels).encode(), usedforsecurity=False).digest()
            # The last 8 bytes, big-endian, as Prometheus does (the result must match its own).
            labels[target] = str(int.from_bytes(digest[8:], "big") % modulus)
            return True

        return hashmod
    if action in ("lowercase", "uppercase"):
        convert = _go_lower if action == "lowercase" else _go_upper

        def change_case(labels: dict[str, str]) -> bool:
            _set(labels, target, convert(value(labels)))
            return True

        return change_case
    if action == "labelmap":
        return _labelmap_step(match, _template(config.replacement, group_names))
    keep_matching = action == "labelkeep"

    def label_filter(labels: dict[str, str]) -> bool:
        for name in [n for n in labels if (match(n) is not None) != keep_matching]:
            del labels[name]
        return True

    return label_filter


def _joiner(names: tuple[str, ...], separator: str) -> Callable[[dict[str, str]], str]:
    if not names:
        return lambda labels: ""
    if len(names) == 1:
        (name,) = names
        return lambda labels: labels.get(name, "")
    return lambda labels: separator.join([labels.get(n, "") for n in names])


def _set(labels: dict[str, str], name: str, value: str) -> None:
    """Prometheus's ``Builder.Set``: an empty value deletes the label."""
    if value:
        labels[name] = value
    else:
        labels.pop(name, None)


Expand = Callable[["re.Match[str]"], str]


def _replace_step(
    match: Callable[[str], re.Match[str] | None],
    value: Callable[[dict[str, str]], str],
    target: str,
    replacement: str,
    group_names: tuple[str | None, ...],
) -> Step:
    expand_value = _template(replacement, group_names)
    if "$" not in target:

        def replace(labels: dict[str, str]) -> bool:
            found = match(value(labels))
            if found is not None:
                _set(labels, target, expand_value(found))
            return True

        return replace
    expand_target = _template(target, group_names)

    def replace_templated(labels: dict[str, str]) -> bool:
        found = match(value(labels))
        if found is not None:
            name = expand_target(found)
            if LABEL_NAME.match(name):
                _set(labels, name, expand_value(found))
        return True

    return replace_templated


def _labelmap_step(match: Callable[[str], re.Match[str] | None], expand: Expand) -> Step:
    def labelmap(labels: dict[str, str]) -> bool:
        for name, value in sorted(labels.items()):
            found = match(name)
            if found is not None:
                mapped = expand(found)
                # Prometheus would write an invalid name and fail the target later; sinks here
                # cannot carry one, so such a mapping is skipped.
                if LABEL_NAME.match(mapped):
                    labels[mapped] = value
        return True

    return labelmap


# Replacement templates: Go's Regexp.Expand.


def _template(template: str, group_names: tuple[str | None, ...]) -> Expand:
    """Compile ``template`` into a function of a match, following Go's ``Regexp.Expand``.

    ``$$`` is a literal ``$``; ``$name`` takes the longest run of letters, digits and ``_``
    (so ``$1x`` names a group ``1x``); ``${name}`` is explicit; a name of decimal digits is a
    group number; an unknown group expands to nothing; a malformed ``$`` stays as it is.
    """
    parts: list[str | tuple[int, ...]] = []
    text: list[str] = []
    i = 0
    while True:
        dollar = template.find("$", i)
        if dollar < 0:
            text.append(template[i:])
            break
        text.append(template[i:dollar])
        i = dollar + 1
        if template.startswith("$", i):
            text.append("$")
            i += 1
            continue
        reference = _reference(template, i)
        if reference is None:
            text.append("$")
            continue
        name, i = reference
        parts.extend(["".join(text), _groups(name, group_names)])
        text = []
    parts.append("".join(text))
    parts = [p for p in parts if p != ""]
    return _expander(parts)


def _reference(template: str, start: int) -> tuple[str, int] | None:
    """The group name after a ``$`` at ``start`` and where it ends, or None if malformed."""
    braced = template.startswith("{", start)
    begin = end = start + 1 if braced else start
    while end < len(template) and (
        template[end].isalpha() or template[end].isdecimal() or template[end] == "_"
    ):
        end += 1
    if end == begin:
        return None
    if braced:
        if not template.startswith("}", end):
            return None
        return template[begin:end], end + 1
    return template[begin:end], end


def _groups(name: str, group_names: tuple[str | None, ...]) -> tuple[int, ...]:
    """The groups ``name`` may refer to, in order (Go takes the first that took part)."""
    if name.isascii() and name.isdigit() and (name == "0" or not name.startswith("0")):
        number = int(name)
        return (number,) if number < len(group_names) else ()
    return tuple(index for index, group in enumerate(group_names) if group == name)


def _expander(parts: list[str | tuple[int, ...]]) -> Expand:
    if not parts:
        return lambda found: ""
    if len(parts) == 1:
        (only,) = parts
        if isinstance(only, str):
            return lambda found: only
        if len(only) == 1:
            (index,) = only
            return lambda found: found.group(index) or ""

    def expand(found: re.Match[str]) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            for index in part:
                group = found.group(index)
                if group is not None:
                    out.append(group)
                    break
        return "".join(out)

    return expand


# Case mapping: Go maps each character on its own (simple case mapping), unlike str.lower().


class _CaseTable(dict[int, str]):
    def __init__(self, convert: Callable[[str], str]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, code: int) -> str:
        mapped = self[code] = self.convert(chr(code))
        return mapped


def _lower_char(c: str) -> str:
    lowered = c.lower()
    if len(lowered) == 1:
        return lowered
    return "i" if c == "\u0130" else c  # İ: Go gives i; Python adds a combining dot


def _upper_char(c: str) -> str:
    upper = c.upper()
    if len(upper) == 1:
        return upper
    title = c.title()  # a single-character title case is the simple upper case (e.g. ᾀ → ᾈ)
    return title if len(title) == 1 else c  # ß, ŉ, ﬀ: no simple upper case, Go keeps them


_LOWER = _CaseTable(_lower_char)
_UPPER = _CaseTable(_upper_char)


def _go_lower(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_LOWER)


def _go_upper(text: str) -> str:
    return text.upper() if text.isascii() else text.translate(_UPPER)
