"""A cold start's imports as Lambda runs them: the built function and layer, with and without
the CPython 3.13 bytecode the build ships.

    make sam-build && .venv/bin/python bench/bench_cold_start.py [--runs 7]

Lambda's code directories are read-only: a module without bytecode there is compiled on every
cold start. This copies ``.aws-sam/build``'s function and layer twice (one copy stripped of its
``__pycache__`` directories) and imports ``app`` (the handler's module: every module a cycle
needs at once) in fresh CPython 3.13 processes (``-B -S``: nothing written, no site packages),
printing the median process CPU of the import. The layer's compiled modules are aarch64; the
host's cramjam (the one without a pure-Python fallback) stands in, from the CPython 3.13
environment ``make test`` makes (``.venv-py313``), or ``--python``. It installs nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
PYTHON = ROOT / ".venv-py313" / "bin" / "python"
IMPORT = "import time; start = time.process_time(); import app; print(time.process_time() - start)"


def host_cramjam(python: Path, into: Path) -> None:
    """The host's own cramjam package, copied into ``into``."""
    where = subprocess.run(
        [str(python), "-c", "import cramjam, os; print(os.path.dirname(cramjam.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    shutil.copytree(where, into / "cramjam")


def import_cpu(python: Path, tree: Path, host: Path, runs: int) -> list[float]:
    """CPU seconds of ``import app`` in ``runs`` fresh processes."""
    path = f"{host}:{tree / 'ScrapePushFunction'}:{tree / 'DependenciesLayer' / 'python'}"
    env = {"PYTHONPATH": path, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_METRICS_NAMESPACE": "bench"}
    return [
        float(
            subprocess.run(
                [str(python), "-B", "-S", "-c", IMPORT], check=True, capture_output=True, text=True, env=env
            ).stdout
        )
        for _ in range(runs)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", type=Path, default=PYTHON, help="a CPython 3.13 with cramjam")
    args = parser.parse_args()
    if not (BUILD / "ScrapePushFunction" / "app.py").is_file():
        print(f"cold start: skipped: no build in {BUILD} (make sam-build)")
        return 0
    if not args.python.exists():
        print(f"cold start: skipped: no CPython 3.13 at {args.python} (make test makes it, or --python)")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as work:
        built, stripped, host = Path(work) / "built", Path(work) / "stripped", Path(work) / "host"
        shutil.copytree(BUILD, built)
        shutil.copytree(BUILD, stripped)
        for cache in list(stripped.rglob("__pycache__")):
            shutil.rmtree(cache)
        host.mkdir()
        host_cramjam(args.python, host)
        shipped = sum(1 for _ in built.rglob("*.pyc"))
        print(f"cold start: import app, CPython 3.13 ({args.python}), median of {args.runs} processes")
        for label, tree in (
            (f"as built ({shipped:,} bytecode files)", built),
            ("without bytecode", stripped),
        ):
            times = import_cpu(args.python, tree, host, args.runs)
            print(f"  {label:38s} {statistics.median(times):.3f} s CPU  ({min(times):.3f}-{max(times):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
