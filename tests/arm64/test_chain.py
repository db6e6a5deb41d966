"""The whole chain on a throwaway kernel: built for Lambda by native/build.py, checked as
check_build checks the artifact, then loaded through ``native.load`` by the arm64 CPython 3.13
under qemu, which also refuses, by name, a build for another machine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devtools import check_build
from devtools.arm64 import ROOT, Arm64
from tests.support import probe_kernel

BUILD = check_build.native_build()
SOURCES = ROOT / "functions" / "scrape_push"
ARM64_SECONDS = 300
"""Far more than a load takes under emulation: a hung interpreter fails the test instead."""

LOAD = """
import importlib.machinery, json, sys
import scrape_push
scrape_push.__path__.append(sys.argv[1])  # the kernel's directory joins the package's
from scrape_push import native
kernel = native.load("probe", 1)
print(json.dumps({
    "status": native.STATUS["probe"],
    "twice": kernel.twice("ab\\u00e9") if kernel else None,
    "file": kernel.__file__ if kernel else None,
    "suffixes": importlib.machinery.EXTENSION_SUFFIXES,
    "machine": __import__("platform").machine(),
}))
"""


def load_on_arm64(arm64: Arm64, kernels: Path) -> dict[str, object]:
    done = subprocess.run(
        arm64.command("-c", LOAD, str(kernels)),
        env=arm64.environment([SOURCES]),
        capture_output=True,
        text=True,
        timeout=ARM64_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def test_a_kernel_built_for_lambda_loads_on_arm64_cpython_313(arm64: Arm64, tmp_path: Path) -> None:
    function, sources = tmp_path / "function", probe_kernel.sources(tmp_path / "src")
    out = function / "scrape_push"
    assert BUILD.build(out, BUILD.LAMBDA_TARGET, True, strip=True, sources=sources) == 1
    assert check_build.kernel_problems(function, sources) == []
    assert check_build.binary_problems(function) == []
    found = load_on_arm64(arm64, out)
    assert found["machine"] == "aarch64"
    assert found["status"] == "compiled" and found["twice"] == "abéabé"
    assert found["file"] == str(out / "_probe.abi3.so")
    assert ".abi3.so" in found["suffixes"]  # type: ignore[operator]


def test_a_kernel_built_for_another_machine_is_unusable_there_by_name(arm64: Arm64, tmp_path: Path) -> None:
    out = tmp_path / "x86"
    BUILD.build(out, "x86_64-linux-gnu.2.34", True, sources=probe_kernel.sources(tmp_path / "src"))
    found = load_on_arm64(arm64, out)
    assert found["twice"] is None
    status = str(found["status"])
    assert status.startswith("unusable: ") and "_probe.abi3.so" in status, status
