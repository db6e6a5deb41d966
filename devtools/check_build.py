"""Check a ``sam build`` output tree: the right files, and only aarch64 / CPython 3.13 binaries
and bytecode.

python -m devtools.check_build .aws-sam/build [--bytecode]

Bytecode, where shipped, must be CPython 3.13's and unchecked-hash (the build's Makefiles say
why); ``--bytecode`` (the build had a CPython 3.13) also requires it for every module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
"""Lambda quotas: function code plus layers, unzipped, at most 250 MB."""

REQUIRED_PACKAGES = ("boto3", "botocore", "aws_lambda_powertools", "requests", "yaml")

PYC_TAG = "cpython-313"
PYC_MAGIC_313 = 3571
"""The first two bytes of CPython 3.13's bytecode files, little-endian (``MAGIC_NUMBER`` in its
Lib/importlib/_bootstrap_external.py: the same for every 3.13 release)."""
PYC_UNCHECKED_HASH = 0b01
"""A bytecode file's flags word (PEP 552): hash-based, source not checked."""


def bytecode_problems(root: Path, required: bool) -> list[str]:
    """What is wrong with the bytecode under ``root``: any file not CPython 3.13's unchecked-hash
    bytecode, and (``required``) any module without its bytecode."""
    found: list[str] = []
    for pyc in root.rglob("*.pyc"):
        head = pyc.read_bytes()[:8]
        magic, flags = int.from_bytes(head[:2], "little"), int.from_bytes(head[4:8], "little")
        if pyc.parent.name != "__pycache__" or f".{PYC_TAG}." not in pyc.name or magic != PYC_MAGIC_313:
            found.append(f"{pyc} is not CPython 3.13 bytecode")
        elif flags != PYC_UNCHECKED_HASH:
            found.append(f"{pyc} is not unchecked-hash bytecode (flags {flags:#x})")
    if required:
        found += [
            f"{py} has no bytecode"
            for py in root.rglob("*.py")
            if not (py.parent / "__pycache__" / f"{py.stem}.{PYC_TAG}.pyc").is_file()
        ]
    return found


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of a shared object, or ``None`` when the file is not ELF."""
    with path.open("rb") as fh:
        head = fh.read(20)
    if not head.startswith(ELF_MAGIC):
        return None
    return int.from_bytes(head[18:20], "little")


def problems(build: Path, bytecode: bool = False) -> list[str]:
    """Everything wrong with the built tree (empty when it is fine); ``bytecode``: every module
    must have its bytecode."""
    found: list[str] = []
    function = build / "ScrapePushFunction"
    layer = build / "DependenciesLayer" / "python"
    if not (function / "app.py").is_file():
        found.append(f"{function}/app.py missing")
    if not (function / "scrape_push" / "invoke.py").is_file():
        found.append(f"{function}/scrape_push package missing")
    found += bytecode_problems(function, bytecode) + bytecode_problems(layer, bytecode)
    found += [f"{layer}/{name} missing" for name in REQUIRED_PACKAGES if not (layer / name).is_dir()]
    for so in layer.rglob("*.so*"):
        machine = elf_machine(so)
        if machine is not None and machine != EM_AARCH64:
            found.append(f"{so.relative_to(build)} is not an aarch64 binary (e_machine {machine})")
        if ".cpython-" in so.name and ".cpython-313-" not in so.name:
            found.append(f"{so.relative_to(build)} is not built for CPython 3.13")
    for wheel in layer.glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        if tags and not any(t.endswith("-any") or "aarch64" in t for t in tags):
            found.append(f"{wheel.parent.name} has wheel tags {tags}, not aarch64")
    size = sum(p.stat().st_size for p in build.rglob("*") if p.is_file())
    if size > LAMBDA_UNZIPPED_LIMIT_BYTES:
        found.append(f"build is {size} bytes unzipped, over Lambda's 250 MB")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("build", nargs="?", type=Path, default=Path(".aws-sam/build"))
    parser.add_argument("--bytecode", action="store_true", help="every module must have its bytecode")
    args = parser.parse_args()
    build: Path = args.build
    found = problems(build, args.bytecode)
    for problem in found:
        print(f"check_build: {problem}", file=sys.stderr)
    if found:
        return 1
    binaries = sum(1 for so in build.rglob("*.so*") if elf_machine(so) == EM_AARCH64)
    modules = sum(1 for _ in build.rglob("*.pyc"))
    print(
        f"check_build: {build} is fine ({binaries} aarch64 shared objects, no other binaries; "
        f"{modules} modules' CPython 3.13 bytecode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
