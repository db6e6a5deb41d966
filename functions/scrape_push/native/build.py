"""Build the compiled kernels: each ``<name>.c`` here into ``_<name>.abi3.so``.

    python native/build.py --out DIR [--lambda | --target TRIPLE] [--force] [--if-possible]

The compiler is Zig's ``cc`` (clang with every target's libc headers), from the ``ziglang``
wheel on PyPI pinned in ``requirements.txt`` here: the same one on any developer machine, and a
cross compiler, so that ``sam build`` makes Lambda's arm64 build without Docker (``--lambda``;
without it, this machine). The wheel is the one the Python running this script has when it is the
pinned version, else the pinned wheel pip fetches once into a cache directory (``--cache``). The
modules use CPython's stable ABI (``Py_LIMITED_API`` 3.11): one build loads on 3.11 through 3.13,
and the headers are those of the interpreter running this script (3.11 or newer), whatever its
platform. A module is rebuilt only when its source is newer.

Where no compiler can be had (no network for the fetch) or the interpreter has no headers, the
build fails, or with ``--if-possible`` prints one line saying so and builds nothing: the function
then runs its pure-Python path, the kernels' reference (docs/native.md).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIN_FILE = HERE / "requirements.txt"
"""The ``ziglang`` pin (requirements-dev.txt includes the file)."""
LIMITED_API = "0x030B0000"
"""CPython 3.11's stable ABI: the oldest interpreter the function supports (pyproject.toml)."""
OLDEST_HEADERS = (3, 11)
"""Headers older than the stable ABI asked for lack part of it."""
SUFFIX = ".abi3.so"
"""The file name ending CPython 3.11+ looks for a stable-ABI extension under, on Linux."""
LAMBDA_GLIBC = "2.34"
"""The glibc of Lambda's python3.13 runtime: AWS's runtimes page gives its OS as Amazon Linux
2023, whose glibc is 2.34. Linked against Zig's stubs of that version, a kernel can reference no
symbol version the runtime lacks (devtools/check_build.py checks what it references)."""
LAMBDA_TARGET = f"aarch64-linux-gnu.{LAMBDA_GLIBC}"
"""The template's ``Architectures: [arm64]`` (Graviton) on that glibc."""
FLAGS = (
    "-O2",
    "-shared",
    "-fPIC",
    "-fvisibility=hidden",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fno-strict-aliasing",
)
STRIP = "-s"
"""For Lambda: no symbol table or debug information, which nothing there reads (half the size of
a small module)."""


class Unbuildable(Exception):
    """This machine cannot build the kernels: no compiler to be had, or no usable headers."""


def pin() -> str:
    """The ``ziglang==<version>`` requirement of ``requirements.txt``."""
    lines = [line.strip() for line in PIN_FILE.read_text().splitlines()]
    return next(line for line in lines if line.startswith("ziglang=="))


def default_cache() -> Path:
    """Where a fetched compiler is kept: ``$XDG_CACHE_HOME/scrape-push``, ``~/.cache`` unset."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scrape-push"


def headers() -> Path:
    """The running interpreter's C headers, when they can build a stable-ABI 3.11 module."""
    found = Path(sysconfig.get_path("include"))
    version = ".".join(map(str, sys.version_info[:2]))
    if sys.version_info[:2] < OLDEST_HEADERS:
        raise Unbuildable(f"Python {version}'s headers lack the 3.11 stable ABI: run this with 3.11+")
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise Unbuildable(f"the free-threaded Python {version} has no stable ABI: run this with another")
    if not (found / "Python.h").is_file():
        raise Unbuildable(f"Python {version} at {sys.executable} has no C headers in {found} (python3-dev)")
    return found


def zig(cache: Path) -> Path:
    """Zig's executable: the running interpreter's ``ziglang`` when it is the pinned version, else
    the pinned wheel's in ``cache``, which pip fetches the first time."""
    wanted = pin()
    version = wanted.split("==", 1)[1]
    spec = importlib.util.find_spec("ziglang")
    if spec and spec.submodule_search_locations and _installed("ziglang") == version:
        return Path(next(iter(spec.submodule_search_locations))) / "zig"
    kept = cache / f"ziglang-{version}"
    compiler = kept / "ziglang" / "zig"
    if not compiler.is_file():
        _fetch(wanted, kept)
    return compiler


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _fetch(requirement: str, into: Path) -> None:
    """``requirement``'s wheel for this machine into ``into``, whole or not at all."""
    into.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=into.parent))
    try:
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        pip += ["--no-deps", "--only-binary=:all:", "--target", str(scratch), requirement]
        done = subprocess.run(pip, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit status {done.returncode}"]
            raise Unbuildable(f"{requirement} is not installed and pip could not fetch it: {lines[-1]}")
        shutil.rmtree(into, ignore_errors=True)
        scratch.rename(into)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def target_config(include: Path, target: str | None, into: Path) -> Path | None:
    """Where a cross build finds the target's ``pyconfig.h`` on Debian and Ubuntu, else ``None``.

    Their Python splits it by architecture: the one beside ``Python.h`` includes
    ``<multiarch>/python3.X/pyconfig.h`` of the architecture compiled for, and only the machine's
    own is installed. ``into`` gets the target's as the machine's own, the values every other
    Python's single ``pyconfig.h`` gives a cross build (the same for the stable ABI on 64-bit
    little-endian Linux)."""
    multiarch = sysconfig.get_config_var("MULTIARCH")
    own = include.parent / str(multiarch) / include.name / "pyconfig.h"
    if not target or not multiarch or not own.is_file():
        return None
    wanted = into / target.split(".", 1)[0] / include.name / "pyconfig.h"  # aarch64-linux-gnu
    wanted.parent.mkdir(parents=True, exist_ok=True)
    wanted.write_text(f'#include "{own}"\n')
    return into


def command(
    compiler: Path,
    includes: Sequence[Path],
    source: Path,
    output: Path,
    target: str | None,
    *,
    strip: bool = False,
) -> list[str]:
    """The compiler's command line for one module."""
    cc = [str(compiler), "cc", *FLAGS, f"-DPy_LIMITED_API={LIMITED_API}", *(f"-I{i}" for i in includes)]
    if target:
        cc += ["-target", target]
    if strip:
        cc.append(STRIP)
    return [*cc, "-o", str(output), str(source)]


def build(
    out: Path,
    target: str | None,
    force: bool,
    *,
    strip: bool = False,
    sources: Path | None = None,
    cache: Path | None = None,
) -> int:
    """Build every module of ``sources`` (default: here) into ``out``; the number built."""
    todo = []
    for source in sorted((sources or HERE).glob("*.c")):
        output = out / f"_{source.stem}{SUFFIX}"
        if force or not output.exists() or output.stat().st_mtime < source.stat().st_mtime:
            todo.append((source, output))
    if not todo:
        return 0
    compiler, include = zig(cache or default_cache()), headers()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        config = target_config(include, target, Path(scratch))
        includes = [include] if config is None else [include, config]
        for source, output in todo:
            subprocess.run(command(compiler, includes, source, output, target, strip=strip), check=True)
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the modules go")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--target", help="a Zig target triple (default: this machine)")
    where.add_argument("--lambda", dest="for_lambda", action="store_true", help=f"{LAMBDA_TARGET}, stripped")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--cache", type=Path, help=f"where a fetched compiler is kept ({default_cache()})")
    parser.add_argument(
        "--if-possible", action="store_true", help="where no compiler can be had, say so and build none"
    )
    args = parser.parse_args(argv)
    target = LAMBDA_TARGET if args.for_lambda else args.target
    try:
        built = build(args.out, target, args.force, strip=args.for_lambda, cache=args.cache)
    except Unbuildable as exc:
        if args.if_possible:  # stdout: sam build shows it, and a make recipe's stderr only on failure
            print(f"native/build.py: no compiled kernels: {exc}; the pure-Python path runs (docs/native.md)")
            return 0
        print(f"native/build.py: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        failed = " ".join(exc.cmd)
        print(f"native/build.py: the compiler failed ({exc.returncode}): {failed}", file=sys.stderr)
        return 1
    print(f"native/build.py: {built} module(s) built for {target or 'this machine'} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
