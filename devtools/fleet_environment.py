"""One Lambda execution environment, as a process: it runs invocations of the real handler, one at
a time, for ``devtools.fleet``, and says what each cost.

Reads one JSON request a line on stdin, ``{"event": ..., "timeout": seconds, "memory_mb": n}``,
invokes ``app.lambda_handler`` as ``devtools.local_invoke`` does (the runtime stays warm between
invocations, as in Lambda) and writes one JSON line on stdout::

    {"answer": ..., "error": null, "summaries": [...], "wall_seconds": ..., "cpu_seconds": ...,
     "process_cpu_seconds": ..., "max_rss_kb": ...}

``summaries`` are the summaries the invocation logged (``cycle done``, ``cycle planned``);
``cpu_seconds`` is the invocation's CPU, ``process_cpu_seconds`` the process's since it started
(its imports included: a cold start's cost), ``max_rss_kb`` the process's peak resident memory
so far. The function's log lines and self-metrics go to stderr, as in local_invoke.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import time
from typing import Any, TextIO

from devtools.local_invoke import invoke

SUMMARY_MESSAGES = ('"message":"cycle done"', '"message":"cycle planned"')


class LogTap(io.TextIOBase):
    """Passes the function's output through to ``out`` and keeps the summaries it logs."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.partial = ""
        self.summaries: list[Any] = []

    def write(self, text: str) -> int:
        self.out.write(text)
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            if any(marker in line for marker in SUMMARY_MESSAGES):
                self.summaries.append(json.loads(line).get("summary"))
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(requests: TextIO, answers: TextIO, tap: LogTap) -> None:
    for line in requests:
        request = json.loads(line)
        tap.summaries = []
        cpu, wall = _cpu(), time.monotonic()
        done: dict[str, Any] = {"answer": None, "error": None}
        try:
            done["answer"] = invoke(request["event"], request["timeout"], memory_mb=request["memory_mb"])
        except Exception as exc:  # what Lambda reports for a failed invocation
            done["error"] = f"{type(exc).__name__}: {exc}"
        done |= {
            "summaries": tap.summaries,
            "wall_seconds": time.monotonic() - wall,
            "cpu_seconds": _cpu() - cpu,
            "process_cpu_seconds": _cpu(),
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
        answers.write(json.dumps(done) + "\n")
        answers.flush()


def main() -> None:
    answers = sys.stdout
    tap = LogTap(sys.stderr)
    sys.stdout = sys.stderr = tap  # the function's logger binds to it on import
    serve(sys.stdin, answers, tap)


if __name__ == "__main__":
    main()
