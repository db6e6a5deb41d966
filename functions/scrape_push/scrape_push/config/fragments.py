"""Configuration split over several SSM parameters: one document fragment per parameter.

Fragments are merged in parameter-name order: top-level lists (``scrape_configs`` and the sink
lists) are concatenated; a top-level mapping (``global``, ``runtime``) may be set by one
fragment only; a job name may appear once across all fragments. Every fragment is validated on
its own first, so errors name the parameter, the key path and the line within it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .decode import decode
from .document import load_document
from .errors import ConfigError, ConfigWarning, Problem
from .model import Config
from .prometheus import PROMETHEUS_KEYS


def merge_fragments(
    fragments: Sequence[tuple[str, str]], source: str, warnings: list[ConfigWarning] | None = None
) -> Config:
    """Validate and merge ``(parameter name, text)`` fragments into one ``Config``; the
    fragments' warnings, each naming its parameter, go to ``warnings``."""
    problems: list[Problem] = []
    found: list[ConfigWarning] = []
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    job_owner: dict[str, tuple[str, int | None]] = {}
    for name, text in sorted(fragments):
        data, lines = _validated(name, text, problems, found)
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
            elif key in owner:
                message = f"set in both {owner[key]} and {name}; set it in one fragment"
                problems.append(Problem(key, message, lines.get(key), name))
            else:
                merged[key] = value
                owner[key] = name
        for index, job in enumerate(data.get("scrape_configs") or []):
            job_name = job.get("job_name") if isinstance(job, dict) else None
            if not isinstance(job_name, str):
                continue
            key = f"scrape_configs[{index}].job_name"
            first = job_owner.setdefault(job_name, (name, lines.get(key)))
            if first[0] != name:
                where = f" on line {first[1]}" if first[1] is not None else ""
                message = f"job {job_name!r} is already defined in {first[0]}{where}"
                problems.append(Problem(key, message, lines.get(key), name))
    if problems:
        raise ConfigError(problems, source)
    config = decode(Config, merged, None, source, rules=PROMETHEUS_KEYS)
    if warnings is not None:
        warnings.extend(found)
    return config


def _validated(
    name: str, text: str, problems: list[Problem], warnings: list[ConfigWarning]
) -> tuple[object, dict[str, int]]:
    """The fragment's data and lines when it is valid on its own (its warnings collected); its
    problems are collected otherwise. The merged document warns again about the same keys at
    other positions: a key path warns once, in its fragment's terms."""
    own: list[ConfigWarning] = []
    try:
        data, lines = load_document(text)
        decode(Config, data, lines, name, rules=PROMETHEUS_KEYS, warnings=own)
    except ConfigError as exc:
        problems.extend(Problem(p.path, p.message, p.line, name, p.column) for p in exc.problems)
        return None, {}
    warnings.extend(ConfigWarning(w.path, w.message, w.line, name) for w in own)
    return data, lines
