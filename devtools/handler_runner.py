"""Run the real Lambda handler in a process of its own and report what each invocation cost.

    python -m devtools.handler_runner warm MEMORY_MB TIMEOUT_S   # invokes once per line on stdin
    python -m devtools.handler_runner cold MEMORY_MB TIMEOUT_S   # one invocation, then exits

The function's environment (``CONFIG_PARAMETER``, ``AWS_ENDPOINT_URL`` ...) comes from this
process's. Everything the function prints (its log, its EMF self-metrics) goes to /dev/null, as
Lambda's log is not the invocation's result; one JSON line per invocation goes to stdout:

* ``cpu_start`` / ``cpu_end``: CPU seconds of this process (all its threads, since it started:
  what /proc/<pid>/stat counts, at nanosecond resolution) when the invocation began and ended;
* ``cpu_imports`` (cold): the same, once the handler's module was imported as Lambda's init does;
* ``peak_rss_bytes``: the process's peak resident set so far (``VmHWM``);
* ``summary``: the counts of the handler's summary (targets up, samples, each sink's report).

A cold run is a new Python process: its ``cpu_end`` is what a new execution environment pays
from the interpreter's start, imports included, to the end of its first cycle. A warm run keeps
the process, and so the runtime's pipeline, between invocations. A hook (``--profile`` in
bench/profile_handler.py) may wrap the invocations: ``HOOK_ENV`` names a ``module:function``
called with the mode once the handler is imported; it returns a function whose answer, after
each invocation, is added to that invocation's line as ``profile``.
"""

from __future__ import annotations

import time

CPU_AT_START = time.process_time()

import importlib  # noqa: E402 (the CPU above is taken before anything is imported)
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TextIO  # noqa: E402

FUNCTION_DIR = Path(__file__).resolve().parent.parent / "functions" / "scrape_push"
HOOK_ENV = "SCRAPE_PUSH_RUNNER_HOOK"
"""``module:function`` called with the mode once the handler is imported (profiling)."""

Hook = Callable[[str], Callable[[], dict[str, object]]]
USAGE = "usage: python -m devtools.handler_runner warm|cold MEMORY_MB TIMEOUT_SECONDS"


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``VmHWM`` in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def counts(summary: dict[str, Any]) -> dict[str, object]:
    """What the benchmark checks of an invocation's summary (not the per-target list)."""
    return {key: value for key, value in summary.items() if key != "targets"}


def invoke(
    handler: Any, context_of: Any, memory_mb: int, timeout: float, profile: Callable[[], dict[str, object]]
) -> dict[str, object]:
    start = time.process_time()
    summary = handler({}, context_of(timeout, memory_mb))
    end = time.process_time()
    record = {
        "cpu_start": start,
        "cpu_end": end,
        "peak_rss_bytes": peak_rss_bytes(),
        "summary": counts(summary),
    }
    return {**record, "profile": profile()}


def no_profile() -> dict[str, object]:
    return {}


def hooked(mode: str) -> Callable[[], dict[str, object]]:
    """The profile of ``HOOK_ENV``'s hook, set up for ``mode`` (none without a hook)."""
    hook = os.environ.get(HOOK_ENV)
    if not hook:
        return no_profile
    module, _, function = hook.partition(":")
    found: Hook = getattr(importlib.import_module(module), function)
    return found(mode)


def report(out: TextIO, record: dict[str, object]) -> None:
    out.write(json.dumps(record) + "\n")
    out.flush()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("warm", "cold"):
        print(USAGE, file=sys.stderr)
        return 2
    mode, memory_mb, timeout = argv[0], int(argv[1]), float(argv[2])
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the function's own output goes where Lambda's log would
    sys.path.insert(0, str(FUNCTION_DIR))
    import app  # Lambda's init: the handler's module and all it imports

    from devtools.local_invoke import LocalContext  # after app: what it adds is a few stdlib modules

    cpu_imports = time.process_time()
    profile = hooked(mode)
    if mode == "cold":
        record = invoke(app.lambda_handler, LocalContext, memory_mb, timeout, profile)
        report(out, {**record, "cpu_at_start": CPU_AT_START, "cpu_imports": cpu_imports})
        os._exit(0)  # a frozen execution environment is never torn down: neither is this one
    for _ in sys.stdin:
        report(out, invoke(app.lambda_handler, LocalContext, memory_mb, timeout, profile))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
