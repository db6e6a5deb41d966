"""The function's build as ``sam build`` runs it (functions/scrape_push/Makefile in a scratch copy
of the sources, ``ARTIFACTS_DIR`` given), with a throwaway kernel among native/*.c and this
machine's build of it left in scrape_push/ as ``make native`` leaves it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import check_build, elf
from tests.support import probe_kernel

# Interpreter-independent (make and Zig do the work): on the main interpreter only.
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
BUILD = check_build.native_build()
MAKE_SECONDS = 600


def scratch(tmp_path: Path) -> Path:
    """The function's sources copied as sam build copies them, plus the probe kernel, built in
    place for this machine."""
    copy = tmp_path / "source"
    shutil.copytree(ROOT / "functions" / "scrape_push", copy, ignore=shutil.ignore_patterns("__pycache__"))
    sources = probe_kernel.sources(copy / "native")
    BUILD.build(copy / "scrape_push", None, True, sources=sources)
    return copy


def make(copy: Path, artifacts: Path, **env: str) -> subprocess.CompletedProcess[str]:
    artifacts.mkdir()  # as sam build makes it
    return subprocess.run(
        ["make", "--makefile", str(copy / "Makefile"), "build-ScrapePushFunction"],
        cwd=copy,
        # No CPython 3.13 asked for: its bytecode step is not what these tests are about.
        env={**os.environ, "ARTIFACTS_DIR": str(artifacts), "PYTHON_LAMBDA": "", **env},
        capture_output=True,
        text=True,
        timeout=MAKE_SECONDS,
        check=False,
    )


def test_the_build_ships_the_kernels_built_for_lambda_and_not_this_machines(tmp_path: Path) -> None:
    copy, artifacts = scratch(tmp_path), tmp_path / "artifacts"
    assert elf.machine(copy / "scrape_push" / "_probe.abi3.so") != elf.EM_AARCH64  # make native's
    done = make(copy, artifacts, NATIVE_PYTHON=sys.executable)
    assert done.returncode == 0, done.stderr
    kernels = sorted(f"_{source.stem}.abi3.so" for source in (copy / "native").glob("*.c"))
    assert "_probe.abi3.so" in kernels
    assert f"native/build.py: {len(kernels)} module(s) built for aarch64-linux-gnu.2.34" in done.stdout
    assert (artifacts / "app.py").is_file()
    assert check_build.kernel_problems(artifacts, copy / "native") == []
    assert check_build.binary_problems(artifacts) == []
    assert sorted(p.name for p in artifacts.rglob("*.so")) == kernels  # the real kernels and the probe
    assert not (artifacts / "native").exists()


def test_without_network_for_the_compiler_the_pure_python_function_is_built_and_said(tmp_path: Path) -> None:
    copy, artifacts = scratch(tmp_path), tmp_path / "artifacts"
    offline = {
        "NATIVE_PYTHON": f"{sys.executable} -S",  # no site-packages: no ziglang at hand
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": "",
    }
    done = make(copy, artifacts, **offline)
    assert done.returncode == 0, done.stderr
    (said,) = [line for line in done.stdout.splitlines() if line.startswith("native/build.py")]
    assert said.startswith(
        "native/build.py: no compiled kernels: ziglang==0.17.1 is not installed and pip could not fetch it: "
    )
    assert said.endswith("; the pure-Python path runs (docs/native.md)")
    assert (artifacts / "scrape_push" / "native.py").is_file()
    assert list(artifacts.rglob("*.so")) == []
