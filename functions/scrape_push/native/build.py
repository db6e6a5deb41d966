"""Build the compiled kernels: each ``<name>.c`` here into ``_<name>.abi3.so``.

    python native/build.py --out DIR [--target TRIPLE] [--force]

The compiler is Zig's ``cc`` (clang with every target's libc headers), from the ``ziglang``
wheel on PyPI: the same one on any developer machine, and a cross compiler, so that ``sam build``
makes Lambda's arm64 build without Docker (``--target aarch64-linux-gnu.2.26``; without
``--target``, this machine). The modules use CPython's stable ABI (``Py_LIMITED_API`` 3.11): one
build loads on 3.11 through 3.13, and the headers are those of the interpreter running this
script, whatever its platform. A module is rebuilt only when its source is newer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIMITED_API = "0x030B0000"
"""CPython 3.11's stable ABI: the oldest interpreter the function supports (pyproject.toml)."""
SUFFIX = ".abi3.so"
"""The file name ending CPython 3.11+ looks for a stable-ABI extension under, on Linux."""
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


def command(source: Path, output: Path, target: str | None) -> list[str]:
    """The compiler's command line for one module."""
    include = sysconfig.get_path("include")
    cc = [sys.executable, "-m", "ziglang", "cc", *FLAGS, f"-DPy_LIMITED_API={LIMITED_API}", f"-I{include}"]
    if target:
        cc += ["-target", target]
    return [*cc, "-o", str(output), str(source)]


def build(out: Path, target: str | None, force: bool) -> int:
    """Build every module here into ``out``; the number built."""
    out.mkdir(parents=True, exist_ok=True)
    built = 0
    for source in sorted(HERE.glob("*.c")):
        output = out / f"_{source.stem}{SUFFIX}"
        if not force and output.exists() and output.stat().st_mtime >= source.stat().st_mtime:
            continue
        subprocess.run(command(source, output, target), check=True)
        built += 1
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the modules go")
    parser.add_argument("--target", help="a Zig target triple (default: this machine)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    try:
        built = build(args.out, args.target, args.force)
    except FileNotFoundError as exc:
        print(f"native/build.py: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        failed = " ".join(exc.cmd)
        print(f"native/build.py: the compiler failed ({exc.returncode}): {failed}", file=sys.stderr)
        return 1
    print(f"native/build.py: {built} module(s) built for {args.target or 'this machine'} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
