"""The sam-built function and layer (``.aws-sam/build``) on the arm64 CPython 3.13, under qemu:
every kernel of native/*.c loads compiled, a cycle sends what the pure-Python path sends, and
the differential tests (``-m native``) pass there.

None of this passes for want of something to check: a kernel that no module loads, a kernel
without differential tests, a differential test that skips (``REQUIRE_NATIVE=1``) or no test at
all are failures."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from devtools.arm64 import ROOT, Arm64
from devtools.check_build import NATIVE
from tests.support.remote_write import decode, series_of

BUILT = ROOT / ".aws-sam" / "build"
FUNCTION = BUILT / "ScrapePushFunction"
LAYER = BUILT / "DependenciesLayer" / "python"
KERNELS = sorted(source.stem for source in NATIVE.glob("*.c"))
CYCLE_SECONDS = 600
NATIVE_TESTS_SECONDS = 1500
"""Bounds on a run under emulation (a cycle takes seconds, the differential tests a few
minutes): a hung interpreter fails its test instead of holding up CI."""
NATIVE_MARK = re.compile(r"\bpytest\.mark\.native\b")

Result = dict[str, Any]
"""What tests/arm64/cycle.py writes."""
Series = dict[tuple[tuple[str, str], ...], list[tuple[str, str]]]


@pytest.fixture(scope="module")
def function() -> list[Path]:
    if not (FUNCTION / "app.py").is_file():
        pytest.fail(f"no function built in {FUNCTION}: make test-arm64 runs make sam-build first")
    return [FUNCTION, LAYER]


def environment(arm64: Arm64, function: list[Path], **extra: str) -> dict[str, str]:
    """The arm64 interpreter's environment for the built function: its bytecode is what the build
    ships, and where it ships none (no CPython 3.13 built it) none is written into it."""
    if not any(FUNCTION.rglob("*.pyc")):
        extra["PYTHONDONTWRITEBYTECODE"] = "1"
    return arm64.environment(function, **extra)


@pytest.fixture(scope="module")
def run(arm64: Arm64, function: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Result:
    """tests/arm64/cycle.py's result on arm64."""
    result = tmp_path_factory.mktemp("cycles") / "result.json"
    done = subprocess.run(
        arm64.command(str(ROOT / "tests" / "arm64" / "cycle.py"), str(result)),
        env=environment(arm64, function),
        capture_output=True,
        text=True,
        timeout=CYCLE_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: Result = json.loads(result.read_text())
    return found


def test_the_function_imports_on_arm64_with_every_kernel_compiled(run: Result) -> None:
    assert ".abi3.so" in run["suffixes"]
    not_loaded = [name for name in KERNELS if name not in run["status"]]
    assert not not_loaded, f"no module of the function loads the kernel(s) {not_loaded}"
    assert run["status"] == dict.fromkeys(run["status"], "compiled"), run["status"]
    assert run["files"] == {
        name: str(FUNCTION / "scrape_push" / f"_{name}.abi3.so") for name in run["status"]
    }
    assert set(run["callers"].values()) == set(run["status"])  # each turned off for the reference


@pytest.mark.parametrize("which", ["cold", "warm"])
def test_a_cycle_on_arm64_sends_what_the_pure_python_path_sends(run: Result, which: str) -> None:
    index = ["cold", "warm"].index(which)
    on, off = run["cycles"]["on"][index], run["cycles"]["off"][index]
    assert on["exit"] == off["exit"] == 0 and on["summary"]["ok"] and off["summary"]["ok"]
    (target,) = on["summary"]["targets"]
    assert target["up"] == 1 and target["samples"] > 400
    sent = series(on, run["exposed_ms"])
    assert sent == series(off, run["exposed_ms"])
    duration = 1  # scrape_duration_seconds, left out
    assert sum(len(points) for points in sent.values()) + duration == on["summary"]["sinks"][0]["sent"]
    assert metadata(on) == metadata(off)


def test_the_first_cycle_sends_every_familys_metadata(run: Result) -> None:
    assert len(metadata(run["cycles"]["on"][0])) > 60


def series(cycle: Result, exposed_ms: int) -> Series:
    """Every series the receiver took in ``cycle``, with its points; what differs between cycles
    left out: the scrape's time (the exposed one kept) and duration."""
    found: Series = {}
    for body in cycle["requests"]:
        for labels, points in series_of(decode(base64.b64decode(body))).items():
            if ("__name__", "scrape_duration_seconds") not in labels:
                shown = [("exposed" if t == exposed_ms else "scrape", _bits(v)) for t, v in points]
                found.setdefault(labels, []).extend(shown)
    return found


def _bits(value: float) -> str:
    """A value as its bits: NaNs (staleness markers among them) compare too."""
    return struct.pack("<d", value).hex() if math.isnan(value) else repr(value)


def metadata(cycle: Result) -> list[tuple[int, str, str, str]]:
    return sorted(
        (m.type, m.metric_family_name, m.help, m.unit)
        for body in cycle["requests"]
        for m in decode(base64.b64decode(body)).metadata
    )


ARM64_DESELECTED = "not parse_is_the_same and not leak and not no_reference"
"""Left to the host's run: whole parses at every chunk size down to one byte (the cycles above
compare whole scrapes on arm64, kernels on and off) and the loops that count references and
memory over thousands of calls (the interpreter's bookkeeping, not the machine's); under
emulation they alone took CI past its time."""


QUICK_ENV = "ARM64_DIFFERENTIAL"
"""``quick`` (what ``make test``, and so CI, sets): the differential run below draws 2 examples a
property test (the ``arm64-quick`` profile, which caps the tests' own ``@settings`` too) and
leaves out the slowest kinds of test, those that run the whole path kernels on and off, which
the cycles above already do on arm64: the warm chunks fuzzed for their comment blocks, the
fuzzed and the whole fleet scrapes, the Remote Write sink's requests over varied fleets, and
its golden requests but for two cases (the one with staleness markers and the one with native
histograms). Each kernel's functions are still run against their references there; the full
run (``make test-arm64``) draws 5 examples a test and leaves none of these out."""
QUICK_DESELECTED = (
    "not fuzzed_warm_chunks and not fuzzed_scrapes and not whole_scrapes"
    " and not requests_with_the_kernel_and_without"
    " and not (sent_before and not no_metadata and not native_histograms)"
)


def native_test_files() -> list[Path]:
    """The test files with differential tests (``pytest.mark.native``)."""
    return sorted(
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if "arm64" not in path.parts and NATIVE_MARK.search(path.read_text())
    )


def test_the_differential_tests_pass_on_arm64(arm64: Arm64, function: list[Path], tmp_path: Path) -> None:
    files = native_test_files()
    if not files:
        assert not KERNELS, f"kernel(s) {KERNELS} without differential tests (pytest.mark.native)"
        pytest.skip("no kernel in native/ and no differential test yet")
    report = tmp_path / "native.xml"
    quick = os.environ.get(QUICK_ENV) == "quick"
    selected = f"{ARM64_DESELECTED} and {QUICK_DESELECTED}" if quick else ARM64_DESELECTED
    profile = "arm64-quick" if quick else "arm64"
    pytest_args = ["-m", "pytest", "-q", "-m", "native and not once", "-p", "no:cacheprovider"]
    pytest_args += ["-o", "pythonpath=.", "-k", selected]
    pytest_args += ["-p", "tests.arm64.profile", f"--hypothesis-profile={profile}", f"--junitxml={report}"]
    done = subprocess.run(
        arm64.command(*pytest_args, *map(str, files)),
        cwd=ROOT,
        env=environment(arm64, function, REQUIRE_NATIVE="1"),
        capture_output=True,
        text=True,
        timeout=NATIVE_TESTS_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    counts = {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}
    assert counts["tests"] > 0 and counts["skipped"] == 0, (counts, done.stdout[-3000:])
