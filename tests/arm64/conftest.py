"""The arm64 stage's tests (``make test-arm64``): they drive the arm64 CPython 3.13 that
``devtools.arm64`` prepares, under qemu-aarch64, and skip in any other run of the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools.arm64 import SYSROOT_ENV, WHEELS_ENV, Arm64


@pytest.fixture(scope="session")
def arm64() -> Arm64:
    sysroot, wheels = os.environ.get(SYSROOT_ENV), os.environ.get(WHEELS_ENV)
    if not sysroot or not wheels:
        pytest.skip("run by make test-arm64 (python -m devtools.arm64 test): an arm64 CPython under qemu")
    return Arm64(Path(sysroot), Path(wheels))
