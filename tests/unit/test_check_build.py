"""devtools.check_build's rules for the bytecode and the shared objects a build ships (make
sam-build runs it on the real build, with ``--bytecode`` when a CPython 3.13 compiled it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.check_build import (
    PYC_MAGIC_313,
    binary_problems,
    bytecode_problems,
    glibc_problems,
    kernel_problems,
    native_build,
)
from tests.support import probe_kernel

MAGIC_313 = PYC_MAGIC_313.to_bytes(2, "little") + b"\r\n"
UNCHECKED, CHECKED, TIMESTAMP = 0b01, 0b11, 0b00


def module(
    root: Path,
    name: str = "mod",
    *,
    tag: str = "cpython-313",
    magic: bytes = MAGIC_313,
    flags: int | None = UNCHECKED,
) -> Path:
    """A module ``name``.py under ``root``, with a bytecode file of that header (none: ``flags=None``)."""
    root.mkdir(parents=True, exist_ok=True)
    source = root / f"{name}.py"
    source.write_text("VALUE = 1\n")
    if flags is not None:
        cache = root / "__pycache__"
        cache.mkdir(exist_ok=True)
        (cache / f"{name}.{tag}.pyc").write_bytes(magic + flags.to_bytes(4, "little") + bytes(8) + b"\xe3")
    return source


def test_cpython_313_unchecked_hash_bytecode_for_every_module_passes(tmp_path: Path) -> None:
    module(tmp_path / "pkg", "a")
    module(tmp_path / "pkg" / "sub", "b")
    assert bytecode_problems(tmp_path, required=True) == []


@pytest.mark.parametrize(
    ("header", "fault"),
    [
        ({"flags": TIMESTAMP}, "is not unchecked-hash bytecode (flags 0x0)"),
        ({"flags": CHECKED}, "is not unchecked-hash bytecode (flags 0x3)"),
        ({"tag": "cpython-311"}, "is not CPython 3.13 bytecode"),
        ({"magic": (3495).to_bytes(2, "little") + b"\r\n"}, "is not CPython 3.13 bytecode"),
    ],
)
def test_other_bytecode_is_named(tmp_path: Path, header: dict[str, object], fault: str) -> None:
    module(tmp_path, "a", **header)  # type: ignore[arg-type]
    found = bytecode_problems(tmp_path, required=False)
    assert len(found) == 1 and found[0].endswith(fault) and "a." in found[0]


def test_a_module_without_bytecode_is_named_only_when_bytecode_is_required(tmp_path: Path) -> None:
    module(tmp_path, "a")
    source = module(tmp_path, "b", flags=None)
    assert bytecode_problems(tmp_path, required=False) == []
    assert bytecode_problems(tmp_path, required=True) == [f"{source} has no bytecode"]


# The shared objects' checks, on modules compiled here from a throwaway kernel.

BUILD = native_build()


def built(
    tmp_path: Path, target: str | None, *, strip: bool = True, source: str = probe_kernel.SOURCE
) -> Path:
    """A function tree under ``tmp_path`` holding the probe kernel built for ``target``."""
    function = tmp_path / "function"
    sources = probe_kernel.sources(tmp_path / "src", source)
    BUILD.build(function / "scrape_push", target, True, strip=strip, sources=sources)
    return function


def test_a_stripped_aarch64_kernel_within_lambdas_glibc_passes(tmp_path: Path) -> None:
    function = built(tmp_path, BUILD.LAMBDA_TARGET)
    assert kernel_problems(function, tmp_path / "src") == []
    assert binary_problems(function) == []


def test_a_kernel_built_for_this_machine_is_named(tmp_path: Path) -> None:
    function = built(tmp_path, "x86_64-linux-gnu.2.34")
    so = function / "scrape_push" / "_probe.abi3.so"
    assert kernel_problems(function, tmp_path / "src") == [
        f"{so} is not an aarch64 shared object (type 3, e_machine 62)"
    ]
    assert binary_problems(function) == ["scrape_push/_probe.abi3.so is not an aarch64 binary (e_machine 62)"]


def test_an_unstripped_or_missing_kernel_and_a_shipped_source_are_named(tmp_path: Path) -> None:
    function = built(tmp_path, BUILD.LAMBDA_TARGET, strip=False)
    so = function / "scrape_push" / "_probe.abi3.so"
    (tmp_path / "src" / "other.c").write_text("")
    (function / "scrape_push" / "left.c").write_text("")
    missing = function / "scrape_push" / "_other.abi3.so"
    assert kernel_problems(function, tmp_path / "src") == [
        f"{missing} missing: the kernel other.c was not built (docs/native.md)",
        f"{so} is not stripped",
        f"{function / 'scrape_push' / 'left.c'} is a C source: not to be shipped",
    ]


def test_a_binary_needing_a_newer_glibc_than_lambdas_is_named(tmp_path: Path) -> None:
    function = built(tmp_path, "aarch64-linux-gnu.2.38", source=probe_kernel.NEWER_GLIBC)
    assert binary_problems(function) == [
        "scrape_push/_probe.abi3.so needs GLIBC_2.38, newer than Lambda's glibc 2.34"
    ]


def test_a_malformed_shared_object_is_one_line(tmp_path: Path) -> None:
    function = built(tmp_path, BUILD.LAMBDA_TARGET)
    so = function / "scrape_push" / "_probe.abi3.so"
    so.write_bytes(so.read_bytes()[:200])
    (problem,) = binary_problems(function)
    assert problem.startswith("scrape_push/_probe.abi3.so: ") and "past the end of the file" in problem


@pytest.mark.parametrize(
    ("versions", "fault"),
    [
        (["GLIBC_2.17", "GLIBC_2.3.4", "GLIBC_2.34"], None),
        (["GLIBC_2.35"], "GLIBC_2.35"),
        (["GLIBC_PRIVATE"], "GLIBC_PRIVATE"),
    ],
)
def test_glibc_versions_above_the_floor_or_private_are_named(versions: list[str], fault: str | None) -> None:
    found = glibc_problems("x.so", {"libc.so.6": versions, "libgcc_s.so.1": ["GCC_3.0"]})
    assert found == ([] if fault is None else [f"x.so needs {fault}, newer than Lambda's glibc 2.34"])
