"""devtools.check_build's rules for the bytecode a build ships (make sam-build runs it on the real
build, with ``--bytecode`` when a CPython 3.13 compiled it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.check_build import PYC_MAGIC_313, bytecode_problems

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
