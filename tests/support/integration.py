"""Finding the real third-party servers the integration tests start.

Where one is missing the test skips with the reason, except with ``REQUIRE_INTEGRATION=1``
(CI sets it), where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "REQUIRE_INTEGRATION"


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip (or fail, when integration is required) because ``reason``."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this is a failure)")
    pytest.skip(reason)


def binary(name: str, *candidates: str, package: str = "") -> str:
    """The path of executable ``name`` (or the first of ``candidates`` that exists)."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (
            candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) else None
        )
        if found:
            return found
    hint = f" (Debian package {package})" if package else ""
    unavailable(f"{name} is not installed{hint}")
    raise AssertionError("unreachable")
