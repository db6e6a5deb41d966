"""A coverage-guided fuzzer of the scan kernel (``native/scan.c``, docs/native.md), with its
pure-Python reference as the oracle (``tests/unit/parse/scan_checks.py``).

    python -m tests.fuzz.fuzz_scan [--seconds N] [--corpus DIR] [--python] [libFuzzer options ...]

It builds the kernel again with clang's sanitizer coverage (what libFuzzer is guided by),
AddressSanitizer and UndefinedBehaviorSanitizer (as traps), with the build's own compiler (Zig's
cc), into ``build/fuzz/``; runs this interpreter again with the ASan runtime that atheris ships
preloaded (``LD_PRELOAD``; ``PYTHONMALLOC=malloc``, so that every Python object's memory is a
block ASan watches); seeds the corpus with the parse tests' bodies and the exposition fixtures;
and fuzzes for ``N`` seconds. Each input is read by the kernel and by the reference: a chunk's
scan, plain label sets, the blocks of a warm chunk, and whole parses of both text formats, cold
and warm, with the kernel and without. A difference, an exception, a crash or a sanitizer report
stops the run with its input written next to the corpus (``crash-*``) and exit status 1.

The fuzzing engine is atheris (PyPI), which has wheels for x86_64 CPython 3.11 to 3.13 only:
elsewhere this says so and exits 0, unless ``REQUIRE_NATIVE=1``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from unittest.mock import patch

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "functions" / "scrape_push" / "native"
OUT = ROOT / "build" / "fuzz"
PYTHON_COVERAGE_ENV = "SCRAPE_PUSH_FUZZ_PYTHON"
"""``1`` (``--python``): the reference's Python branches guide the fuzzer too."""
CHILD_ENV = "SCRAPE_PUSH_FUZZ_CHILD"
"""Set in the fuzzing process itself (the one with the sanitizer runtime preloaded)."""
SANITIZERS = (
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fsanitize-trap=undefined",  # (no runtime: undefined behaviour stops the process)
    "-fsanitize-coverage=inline-8bit-counters,indirect-calls,trace-cmp,pc-table",
)
"""Instead of ``build.FLAGS``'s ``-O2``. Coverage as ``-fsanitize=fuzzer-no-link`` gives it, spelled
out: with that flag Zig's cc links a fuzzing runtime of its own into the module."""
MODES = 5
CHUNK_SIZES = (1 << 16, 64, 1)
SEED_HOWS = (0, 1, 2, 4)
"""The second byte of the seeds (``one_input``): cold, warm, then cold in chunks of 64 and 1 bytes."""
TEXT_TYPE = "text/plain; version=0.0.4"
OM_TYPE = "application/openmetrics-text; version=1.0.0"


def build() -> Path:
    """The kernel, built for fuzzing into ``OUT`` (with the build's compiler and its other flags)."""
    spec = importlib.util.spec_from_file_location("native_build", NATIVE / "build.py")
    assert spec is not None and spec.loader is not None
    native_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native_build)
    OUT.mkdir(parents=True, exist_ok=True)
    output = OUT / "_scan.abi3.so"
    compiler = native_build.zig(native_build.default_cache())
    command = native_build.command(compiler, [native_build.headers()], NATIVE / "scan.c", output, None)
    command.remove("-O2")
    at = command.index("-o")
    subprocess.run([*command[:at], *SANITIZERS, *command[at:]], check=True)
    return output


def load(path: Path) -> ModuleType:
    """The instrumented kernel, as ``scrape_push._scan`` (before the parser asks for it)."""
    spec = importlib.util.spec_from_file_location("scrape_push._scan", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["scrape_push._scan"] = module
    return module


def seeds() -> list[bytes]:
    """Bodies to start from: the parse tests' and the exposition fixtures."""
    from tests.unit.parse.test_parser import COLD
    from tests.unit.parse.test_scan_native import BODIES, HOSTILE_VALUES
    from tests.unit.parse.test_warm import CASES, NODE

    bodies = [
        COLD,
        NODE,
        *(data for case in CASES for data in (*case[1], case[2])),
        *(case[2] for case in BODIES),
    ]
    bodies += [
        path.read_bytes()[:20_000]
        for path in sorted((ROOT / "tests" / "fixtures" / "exposition").glob("*.txt"))
    ]
    bodies.append("\n".join(f"a {value}" for value in HOSTILE_VALUES).encode())
    bodies.append(ODD_LINES)
    return bodies


TOKENS = (
    *'\t \n\r\0#{}=",\\:_.+-eE',
    "# HELP ",
    "# TYPE ",
    "# UNIT ",
    "# EOF",
    " counter",
    " gauge",
    " histogram",
    "_bucket",
    "_total",
    'le="+Inf"',
    "NaN",
    "Inf",
    "-Inf",
    "1e308",
    "0x1p3",
    "1_0",
    "\xc3\xa9",
    "\xff",
)
"""Pieces of the grammar, for libFuzzer's mutations (``-dict``)."""
ODD_LINES = (
    b'\ta 1\n a 1\n\n#x\n a{x="1"} 2\n\t# HELP a x\na\t1\na  1\na 1 \na\n 1\n\xc3\xa9 1\n'
    b'a:b{x="1",} 1\na{x:y="1"} 1\na.b{x="1"} 1\na{x="1"y="2"} 1\na{x="1",,y="2"} 1\na{} 1\na{,} 1\n'
)
"""Lines that start or end with a blank, blank lines, a lone name, names and label sets near the
plain shape: a seed of what the scan and the label sets tell apart."""


def dictionary() -> Path:
    """The tokens as a libFuzzer dictionary file."""
    path = OUT / "scan.dict"
    escaped = ("".join(f"\\x{byte:02x}" for byte in token.encode("latin-1")) for token in TOKENS)
    path.write_text("".join(f'"{token}"\n' for token in escaped))
    return path


def seed(corpus: Path) -> None:
    """Seed an empty corpus: each body in every mode, cold and warm, in chunks of each size."""
    if corpus.exists() and any(corpus.iterdir()):
        return
    corpus.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(seeds()):
        for mode in range(MODES):
            for how in SEED_HOWS:
                (corpus / f"seed-{index:03d}-{mode}-{how}").write_bytes(bytes([mode, how]) + data)


def one_input(kernel: ModuleType, data: bytes) -> None:
    """Read one input with the kernel and with the reference (``AssertionError``: they differ).
    Its first byte picks what is read, its second how; the rest is the text. (The parser is
    imported here, once ``fuzz`` has put the instrumented kernel where it looks for it.)"""
    from scrape_push.parse import body

    from tests.unit.parse import scan_checks

    if len(data) < 2:
        return
    mode, how, payload = data[0] % MODES, data[1], data[2:]
    text = payload.decode("utf-8", "surrogateescape")
    if mode == 0:
        from scrape_push.parse import parser

        last = bool(how & 1)
        keys = parser._scan(body.lines(text, last), {}).keys
        chosen = keys[:: 1 + (how >> 1 & 3)]
        if how & 8:
            chosen.reverse()
        known = {key: (key, None, None) for key in chosen}
        scan_checks.check_scan(kernel, text, last, known, how >> 4)
    elif mode == 1:  # each line's series text, as the scan cuts it
        keys = [line.rpartition(" ")[0] for line in text.split("\n")]
        scan_checks.check_label_sets(kernel, keys, bool(how & 1))
    elif mode in {2, 3}:
        content_type = TEXT_TYPE if mode == 2 else OM_TYPE
        before = [payload] if how & 1 else []
        with patch.object(body, "CHUNK_BYTES", CHUNK_SIZES[(how >> 1) % len(CHUNK_SIZES)]):
            on, off = scan_checks.both_ways(before, payload, content_type, bool(how & 8))
        assert on == off, "a parse differs with the kernel and without"
    else:
        from scrape_push.parse.dialects import OPENMETRICS, TEXT

        first, _, then = payload.partition(b"\n\n\n")
        content_type, dialect = (OM_TYPE, OPENMETRICS) if how & 1 else (TEXT_TYPE, TEXT)
        cache, families = scan_checks.warm_state(first, content_type)
        with patch.object(body, "CHUNK_BYTES", CHUNK_SIZES[(how >> 1) % len(CHUNK_SIZES)]):
            scan_checks.check_blocks(kernel, cache, families, then or first, dialect)


def fuzz(arguments: list[str]) -> None:
    """In the fuzzing process: load the instrumented kernel, then fuzz (atheris never returns:
    libFuzzer exits when the time is up, or at the first failure)."""
    import atheris  # type: ignore[import-untyped]

    kernel = load(OUT / "_scan.abi3.so")
    if os.environ.get(PYTHON_COVERAGE_ENV) == "1":
        with atheris.instrument_imports(include=["scrape_push.parse"]):
            from scrape_push.parse import parser
    else:
        from scrape_push.parse import parser
    assert parser._KERNEL is kernel, "the parser did not load the instrumented kernel"
    atheris.Setup(arguments, lambda data: one_input(kernel, data))
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=180, help="how long to fuzz (wall time)")
    parser.add_argument("--corpus", type=Path, default=OUT / "corpus", help="inputs kept, seeded if empty")
    parser.add_argument(
        "--python",
        action="store_true",
        help="the reference's Python branches guide it too (a third the speed)",
    )
    known, rest = parser.parse_known_args(argv)
    try:
        import atheris
    except ImportError:
        why = "fuzz: atheris is not installed for this interpreter (its wheels: x86_64 CPython 3.11 to 3.13)"
        print(why, file=sys.stderr)
        return 1 if os.environ.get("REQUIRE_NATIVE") == "1" else 0
    build()
    seed(known.corpus)
    crashes = known.corpus.parent / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        CHILD_ENV: "1",
        PYTHON_COVERAGE_ENV: "1" if known.python else "0",
        "LD_PRELOAD": str(Path(atheris.path()) / "asan_with_fuzzer.so"),
        "PYTHONMALLOC": "malloc",
        # CPython frees not all it holds at exit; a report stops the run with an error status
        "ASAN_OPTIONS": "detect_leaks=0:allocator_may_return_null=1:handle_abort=1",
    }
    options = [
        f"-max_total_time={known.seconds}",
        f"-dict={dictionary()}",
        f"-artifact_prefix={crashes}/",
        "-print_final_stats=1",
        "-timeout=20",
        "-rss_limit_mb=4096",
        "-max_len=8192",
        *(["-seed=1"] if os.environ.get("CI") == "true" else []),  # (CI judges what ran before it)
        *rest,
        str(known.corpus),
    ]
    child = [sys.executable, "-m", "tests.fuzz.fuzz_scan", *options]
    return subprocess.run(child, env=environment, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    if os.environ.get(CHILD_ENV) == "1":
        fuzz(sys.argv)
    else:
        sys.exit(main())
