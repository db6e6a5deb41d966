"""Check a ``sam build`` output tree: the right files, and only aarch64 / CPython 3.13 binaries
and bytecode.

python -m devtools.check_build .aws-sam/build [--bytecode]

Every compiled kernel (``functions/scrape_push/native/*.c``) must be in the function as a
stripped aarch64 shared object, and no binary in the build may need a glibc symbol version newer
than Lambda's (``native/build.py``'s ``LAMBDA_GLIBC``). Bytecode, where shipped, must be CPython
3.13's and unchecked-hash (the build's Makefiles say why); ``--bytecode`` (the build had a
CPython 3.13) also requires it for every module.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from devtools import elf

NATIVE = Path(__file__).resolve().parent.parent / "functions" / "scrape_push" / "native"
"""The kernels' sources and their build script."""
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


def native_build() -> ModuleType:
    """``native/build.py`` (a script beside the sources, not a package), for its constants."""
    spec = importlib.util.spec_from_file_location("scrape_push_native_build", NATIVE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BUILD = native_build()
SUFFIX: str = _BUILD.SUFFIX
LAMBDA_GLIBC: str = _BUILD.LAMBDA_GLIBC
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+(?:\.\d+)*)")


def glibc_problems(name: str, needs: dict[str, list[str]], floor: str = LAMBDA_GLIBC) -> list[str]:
    """The glibc symbol versions among ``needs`` (``elf.Elf.version_needs``) newer than
    ``floor`` or not a release's (``GLIBC_PRIVATE``), named after ``name``."""
    limit = tuple(map(int, floor.split(".")))
    found = []
    for version in sorted({v for versions in needs.values() for v in versions if v.startswith("GLIBC_")}):
        numbers = _GLIBC_VERSION.fullmatch(version)
        if numbers is None or tuple(map(int, numbers[1].split("."))) > limit:
            found.append(f"{name} needs {version}, newer than Lambda's glibc {floor}")
    return found


def binary_problems(build: Path) -> list[str]:
    """Every shared object under ``build`` that is not aarch64, not for CPython 3.13, or needs a
    newer glibc than Lambda's."""
    found: list[str] = []
    for so in sorted(build.rglob("*.so*")):
        name = so.relative_to(build)
        machine = elf.machine(so)
        if machine is None:
            continue
        if machine != elf.EM_AARCH64:
            found.append(f"{name} is not an aarch64 binary (e_machine {machine})")
            continue
        if ".cpython-" in so.name and ".cpython-313-" not in so.name:
            found.append(f"{name} is not built for CPython 3.13")
        try:
            found += glibc_problems(str(name), elf.read(so).version_needs())
        except ValueError as exc:
            found.append(f"{name}: {exc}")
    return found


def kernel_problems(function: Path, sources: Path = NATIVE) -> list[str]:
    """Each kernel of ``sources`` missing from ``function/scrape_push`` or not a stripped aarch64
    shared object there, and any C source shipped."""
    found: list[str] = []
    for source in sorted(sources.glob("*.c")):
        so = function / "scrape_push" / f"_{source.stem}{SUFFIX}"
        if not so.is_file():
            found.append(f"{so} missing: the kernel {source.name} was not built (docs/native.md)")
            continue
        try:
            built = elf.read(so)
        except ValueError as exc:
            found.append(f"{so}: {exc}")
            continue
        if built.elf_type != elf.ET_DYN or built.machine != elf.EM_AARCH64:
            found.append(
                f"{so} is not an aarch64 shared object (type {built.elf_type}, e_machine {built.machine})"
            )
        elif not built.stripped:
            found.append(f"{so} is not stripped")
    found += [f"{c} is a C source: not to be shipped" for c in sorted(function.rglob("*.[ch]"))]
    return found


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
    found += kernel_problems(function) + binary_problems(build)
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
    binaries = sum(1 for so in build.rglob("*.so*") if elf.machine(so) == elf.EM_AARCH64)
    kernels = len(list(NATIVE.glob("*.c")))
    modules = sum(1 for _ in build.rglob("*.pyc"))
    print(
        f"check_build: {build} is fine ({binaries} aarch64 shared objects, {kernels} of them the "
        f"kernels, none needing glibc above {LAMBDA_GLIBC}, no other binaries; "
        f"{modules} modules' CPython 3.13 bytecode)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
