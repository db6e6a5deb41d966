"""The compiled kernels in tests: each differential test runs a kernel and its pure-Python reference."""

from __future__ import annotations

import os
from types import ModuleType

import pytest
from scrape_push import native


def compiled(name: str, api: int) -> ModuleType:
    """The kernel ``scrape_push._<name>`` of revision ``api``; skips the test where it is not
    built (``make native``), and fails it instead under ``REQUIRE_NATIVE=1`` (CI), where a
    kernel that does not build or load is a fault."""
    module = native.load(name, api)
    if module is None:
        why = f"kernel {name}: {native.STATUS[name]} (make native builds it)"
        if os.environ.get("REQUIRE_NATIVE") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return module
