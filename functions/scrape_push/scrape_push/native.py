"""The compiled kernels: optional C extension modules that do a hot loop of the pure-Python path.

Each kernel ``scrape_push._<name>`` is built from ``native/<name>.c`` (``native/build.py``: by
``make`` for this machine, by ``sam build`` for Lambda's arm64) against CPython's stable ABI, so
one build serves 3.11 through 3.13. Every kernel does exactly what a pure-Python function next
to its caller does, which stays the reference: it is used where the kernel is not built for this
machine, fails to load, was built for another ``API`` revision, or is turned off
(``SCRAPE_PUSH_NATIVE=off``, ``settings.NATIVE_ENV``). The differential tests run both.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import ModuleType

from . import settings

STATUS: dict[str, str] = {}
"""Each kernel asked for, and what came of it: ``compiled``, ``off``, ``absent`` (not built here)
or ``unusable: <why>`` (built, but for another machine or revision): for the cold start's log."""
UNUSABLE = "unusable: "


def changed(reported: Mapping[str, str]) -> dict[str, str]:
    """The kernels whose ``STATUS`` is not the one ``reported``: all of them at a cold start,
    then those whose callers were imported since (a sink first configured later)."""
    return {name: status for name, status in STATUS.items() if reported.get(name) != status}


def load(name: str, api: int) -> ModuleType | None:
    """The kernel ``scrape_push._<name>`` when it is built, loads and implements revision ``api``
    of its interface (its ``API`` constant), else ``None``: the caller's pure-Python path."""
    if not settings.native_enabled():
        STATUS[name] = "off"
        return None
    try:
        module = import_module(f"{__package__}._{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}._{name}":
            STATUS[name] = f"{UNUSABLE}{exc}"
            return None
        STATUS[name] = "absent"
        return None
    except ImportError as exc:  # a build for another machine, or against a newer stable ABI
        STATUS[name] = f"{UNUSABLE}{exc}"
        return None
    found = getattr(module, "API", None)
    if found != api:
        STATUS[name] = f"{UNUSABLE}revision {found!r} of its interface, not {api}"
        return None
    STATUS[name] = "compiled"
    return module
