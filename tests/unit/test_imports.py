"""Every module imports on its own, whatever is imported first (no import cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "scrape_push"

# Import each module first in a clean module table, in one child interpreter.
PROBE = """
import importlib, pkgutil, sys
import scrape_push
names = ["scrape_push"] + [m.name for m in pkgutil.walk_packages(scrape_push.__path__, "scrape_push.")]
names = [n for n in names if not n.endswith("__main__")]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "scrape_push" or m.startswith("scrape_push.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PACKAGE, capture_output=True, text=True, timeout=120, check=True
    )
    count, *failures = done.stdout.splitlines()
    assert int(count) > 40
    assert [f for f in failures if f] == []


def test_a_cold_start_loads_no_sink_until_the_configuration_uses_it() -> None:
    probe = (
        "import sys, app\n"
        "loaded = [m for m in sys.modules if m.startswith('scrape_push.sinks.') and m.endswith('.sink')]\n"
        "print(sorted(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PACKAGE, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"
