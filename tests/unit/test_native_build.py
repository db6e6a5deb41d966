"""native/build.py: the compiler's command, where Zig comes from, and what a build makes, on a
throwaway kernel compiled in a temporary directory (tests/support/probe_kernel.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from devtools import check_build, elf
from tests.support import probe_kernel

BUILD = check_build.native_build()
ZIG = Path("/zig")
INCLUDE = Path("/include")


def test_the_lambda_command_cross_compiles_against_the_stable_abi_and_strips() -> None:
    cc = BUILD.command(ZIG, [INCLUDE], Path("k.c"), Path("_k.abi3.so"), BUILD.LAMBDA_TARGET, strip=True)
    assert cc[:2] == ["/zig", "cc"]
    assert cc[cc.index("-target") + 1] == "aarch64-linux-gnu.2.34"
    assert {"-s", "-shared", "-fPIC", "-Werror", "-DPy_LIMITED_API=0x030B0000", "-I/include"} <= set(cc)
    assert cc[-3:] == ["-o", "_k.abi3.so", "k.c"]


def test_this_machines_command_has_no_target_and_keeps_its_symbols() -> None:
    cc = BUILD.command(ZIG, [INCLUDE], Path("k.c"), Path("_k.abi3.so"), None)
    assert "-target" not in cc and "-s" not in cc


def test_a_lambda_build_is_a_stripped_aarch64_shared_object_within_lambdas_glibc(tmp_path: Path) -> None:
    function = tmp_path / "function"
    sources = probe_kernel.sources(tmp_path / "src")
    built = BUILD.build(function / "scrape_push", BUILD.LAMBDA_TARGET, False, strip=True, sources=sources)
    assert built == 1
    kernel = elf.read(function / "scrape_push" / "_probe.abi3.so")
    assert (kernel.elf_type, kernel.machine, kernel.stripped) == (elf.ET_DYN, elf.EM_AARCH64, True)
    assert set(kernel.version_needs()) == {"libc.so.6"}  # Python's own symbols come from the interpreter
    assert check_build.kernel_problems(function, sources) == []
    assert check_build.binary_problems(function) == []


def test_debians_split_pyconfig_h_cross_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's Python headers as python3-dev installs them: pyconfig.h includes the one of the
    architecture compiled for, and only this machine's is there."""
    real = Path(sysconfig.get_path("include"))
    include = tmp_path / "usr" / "include" / real.name
    shutil.copytree(real, include)
    own = tmp_path / "usr" / "include" / "x86_64-linux-gnu" / real.name / "pyconfig.h"
    own.parent.mkdir(parents=True)
    shutil.copy(sysconfig.get_config_h_filename(), own)
    (include / "pyconfig.h").write_text(
        "#if defined(__x86_64__)\n"
        f"#include <x86_64-linux-gnu/{real.name}/pyconfig.h>\n"
        "#elif defined(__aarch64__)\n"
        f"#include <aarch64-linux-gnu/{real.name}/pyconfig.h>\n"
        "#endif\n"
    )
    monkeypatch.setattr(BUILD.sysconfig, "get_path", lambda _name: str(include))
    monkeypatch.setattr(BUILD.sysconfig, "get_config_var", {"MULTIARCH": "x86_64-linux-gnu"}.get)
    out = tmp_path / "out"
    assert BUILD.build(out, BUILD.LAMBDA_TARGET, False, sources=probe_kernel.sources(tmp_path / "src")) == 1
    assert elf.read(out / "_probe.abi3.so").machine == elf.EM_AARCH64


def test_a_build_for_this_machine_loads_here(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert BUILD.build(out, None, False, sources=probe_kernel.sources(tmp_path / "src")) == 1
    spec = importlib.util.spec_from_file_location("_probe", out / "_probe.abi3.so")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.API, module.twice("ab"), module.twice("é")) == (probe_kernel.API, "abab", "éé")
    assert not elf.read(out / "_probe.abi3.so").stripped  # debug builds keep their symbols


def test_a_module_is_rebuilt_only_when_its_source_is_newer(tmp_path: Path) -> None:
    out, sources = tmp_path / "out", probe_kernel.sources(tmp_path / "src")
    assert BUILD.build(out, None, False, sources=sources) == 1
    assert BUILD.build(out, None, False, sources=sources) == 0
    later = (out / "_probe.abi3.so").stat().st_mtime + 10
    os.utime(sources / "probe.c", (later, later))
    assert BUILD.build(out, None, False, sources=sources) == 1
    assert BUILD.build(out, None, True, sources=sources) == 1  # --force


def test_the_compiler_is_the_running_pythons_ziglang_when_it_is_the_pinned_one(tmp_path: Path) -> None:
    compiler = BUILD.zig(tmp_path / "cache")
    assert compiler.is_file() and Path(sys.prefix) in compiler.parents
    assert not (tmp_path / "cache").exists()  # nothing fetched
    assert BUILD.pin() == "ziglang==0.17.1"


class FakePip:
    """pip as ``_fetch`` runs it: records each call, installs a ``zig`` file or fails."""

    def __init__(self, fails: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fails = fails

    def __call__(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(command)
        if self.fails:
            said = "WARNING: Retrying...\nERROR: No matching distribution found for ziglang==0.17.1\n"
            return subprocess.CompletedProcess(command, 1, "", said)
        target = Path(command[command.index("--target") + 1])
        (target / "ziglang").mkdir()
        (target / "ziglang" / "zig").write_text("")
        return subprocess.CompletedProcess(command, 0, "", "")


def test_without_the_pinned_ziglang_pip_fetches_it_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pip = FakePip()
    monkeypatch.setattr(BUILD, "_installed", lambda _name: "0.1.0")  # another version than the pin
    monkeypatch.setattr(BUILD.subprocess, "run", pip)
    first, second = BUILD.zig(tmp_path), BUILD.zig(tmp_path)
    assert first == second == tmp_path / "ziglang-0.17.1" / "ziglang" / "zig"
    (call,) = pip.calls
    assert call[:3] == [sys.executable, "-m", "pip"] and call[-1] == "ziglang==0.17.1"
    assert {"--no-deps", "--only-binary=:all:"} <= set(call)
    assert [p.name for p in tmp_path.iterdir()] == ["ziglang-0.17.1"]


def test_when_pip_cannot_fetch_it_the_build_says_why_and_leaves_no_half_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BUILD, "_installed", lambda _name: None)
    monkeypatch.setattr(BUILD.subprocess, "run", FakePip(fails=True))
    with pytest.raises(BUILD.Unbuildable) as caught:
        BUILD.zig(tmp_path)
    assert str(caught.value) == (
        "ziglang==0.17.1 is not installed and pip could not fetch it: "
        "ERROR: No matching distribution found for ziglang==0.17.1"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("setting", "fault"),
    [
        ("include", "has no C headers in"),
        ("Py_GIL_DISABLED", "free-threaded Python"),
    ],
)
def test_headers_that_cannot_build_the_stable_abi_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, fault: str
) -> None:
    if setting == "include":
        monkeypatch.setattr(BUILD.sysconfig, "get_path", lambda _name: str(tmp_path))
    else:
        monkeypatch.setattr(BUILD.sysconfig, "get_config_var", lambda name: int(name == setting))
    with pytest.raises(BUILD.Unbuildable, match=fault):
        BUILD.headers()


def test_if_possible_an_unbuildable_machine_gets_one_line_and_no_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unbuildable(_cache: Path) -> Path:
        raise BUILD.Unbuildable("ziglang==0.17.1 is not installed and pip could not fetch it: offline")

    monkeypatch.setattr(BUILD, "zig", unbuildable)
    monkeypatch.setattr(BUILD, "HERE", probe_kernel.sources(tmp_path / "src"))
    out = tmp_path / "out"
    args = ["--lambda", "--out", str(out)]
    assert BUILD.main([*args, "--if-possible"]) == 0
    said = capsys.readouterr()
    assert said.err == "" and said.out == (
        "native/build.py: no compiled kernels: ziglang==0.17.1 is not installed and pip could not fetch "
        "it: offline; the pure-Python path runs (docs/native.md)\n"
    )
    assert BUILD.main(args) == 1
    assert capsys.readouterr().err.startswith("native/build.py: ziglang==0.17.1 is not installed")
    assert not out.exists()
