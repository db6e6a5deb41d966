"""Where the handler's CPU goes, warm and cold, per stage of the path: the table of
docs/performance.md ("Where the CPU goes, by stage").

    .venv/bin/python bench/profile_handler.py [--shape single|fleet] [--functions 25]

Runs the real handler exactly as bench/bench_e2e.py does (same targets, same VictoriaMetrics
receiver, configuration in SSM on moto; devtools/handler_runner.py), with a hook in the
handler's process that wraps the seams between stages -- the module-level functions and methods
each stage calls the next through -- in timers of the calling thread's CPU
(``time.thread_time``). A stage's time is its own (what the stages it calls took is theirs), so
the rows add up to the invocation's CPU, all threads included (``time.process_time``); what no
timer saw is the "other" row. Garbage collections are timed apart (``gc.callbacks``). The
timers make a few hundred calls per target and cycle: their own cost (calls x the measured cost
of one) is taken out of the rows and the total, and printed.

Warm: the mean of the measured invocations after the warm-up ones. Cold: a new process per
invocation, counted from the interpreter's start; the modules the first cycle imports lazily
(the sink's) are imported by the hook before it wraps them, and counted with the imports.

``--functions N`` runs one more warm invocation and one more cold one under cProfile (every
thread, CPU clock) and prints their N functions of most own time: where inside a stage to look
(cProfile's own cost inflates small functions called often; the table above is the measure).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_e2e

from devtools.handler_runner import HOOK_ENV

HOOK = "profile_handler:hook"
KIND_ENV = "PROFILE_HANDLER_KIND"
"""``stages`` (the timers) or ``functions`` (cProfile), read by the hook in the handler's process."""

# -- in the handler's process: the timers ---------------------------------------------------------

ROWS: dict[str, str] = {
    "fetch": "fetch: HTTP GET, body read",
    "gunzip": "fetch: gzip decompression",
    "parse": "parse: lines, values, metadata",
    "cache_hits": "series cache: samples of known series",
    "cache_new": "series cache: new series (labels built)",
    "cache_keep": "series cache: per-target lookup, commit",
    "stamp": "samples built and stamped",
    "relabel": "write relabeling (metric: with new series)",
    "limits": "limits and memory budget",
    "synthetic": "synthetic series (up, scrape_*)",
    "scrape_rest": "scrape stage, per target, rest",
    "join": "cycle: joining the targets' samples",
    "group": "requests: grouping into series",
    "batch": "requests: batching, request objects",
    "encode": "requests: WriteRequest encoding",
    "snappy": "snappy",
    "metadata": "requests: metadata",
    "post": "HTTP POSTs",
    "account": "delivery accounting",
    "handoff": "thread hand-offs (pools, workers)",
    "gc": "garbage collection (after the cycle)",
    "config": "configuration (SSM)",
    "build": "pipeline and targets",
    "summary": "summary, self-metrics, log line",
    "start": "interpreter start",
    "imports": "imports",
    "other": "other (no timer saw it)",
}
"""Rows of the table, in order; the keys are what the timers add to."""


class Timers:
    """CPU of the calling thread per row, each timed call's own (its timed callees, and the
    garbage collections that ran meanwhile, apart)."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    def _stack(self) -> list[list[float]]:
        stack: list[list[float]] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    def enter(self) -> None:
        self._stack().append([time.thread_time(), 0.0])

    def leave(self, row: str) -> None:
        stack = self._stack()
        started, inner = stack.pop()
        took = time.thread_time() - started
        if stack:
            stack[-1][1] += took
        with self._lock:
            self.own[row] += took - inner
            self.calls[row] += 1

    def collection(self, phase: str, _info: object) -> None:
        """A ``gc.callbacks`` entry: the collection's CPU is the "gc" row's, not its caller's."""
        if phase == "start":
            self._local.collecting = time.thread_time()
            return
        took = time.thread_time() - self._local.collecting
        stack = self._stack()
        if stack:
            stack[-1][1] += took
        with self._lock:
            self.own["gc"] += took

    def call(self, row: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter()
            try:
                return function(*args, **kwargs)
            finally:
                self.leave(row)

        return timed

    def iterator(self, row: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` returns an iterator: time each step of it too."""

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            found = iter(self.call(row, function)(*args, **kwargs))
            step = self.call(row, found.__next__)
            while True:
                try:
                    yield step()
                except StopIteration:
                    return

        return timed

    def take(self) -> dict[str, object]:
        with self._lock:
            own, calls = dict(self.own), dict(self.calls)
            self.own.clear()
            self.calls.clear()
        return {"own": own, "calls": calls}


class _TimedDecoder:
    """The fetch stage's decompressor (``inflater``'s) whose ``decompress`` is timed (the rest
    of it is passed through)."""

    def __init__(self, timers: Timers, inflater: Any, wbits: int) -> None:
        self._decoder = inflater.decompressobj(wbits)
        self.decompress = timers.call("gunzip", self._decoder.decompress)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._decoder, name)


def _wrap(timers: Timers, owner: Any, name: str, row: str, *, iterator: bool = False) -> None:
    original = getattr(owner, name)
    setattr(owner, name, (timers.iterator if iterator else timers.call)(row, original))


# Each seam: (module, attribute path, row). A function is wrapped where its caller looks it up
# (the calling module's namespace), a method on its class.
SEAMS: tuple[tuple[str, str, str], ...] = (
    ("scrape_push.scrape.scraper", "fetch", "fetch"),
    ("scrape_push.parse.parser", "_Parse.chunks", "parse"),
    ("scrape_push.parse.parser", "_Parse._run", "cache_hits"),
    ("scrape_push.parse.parser", "_Parse._cold", "cache_new"),
    ("scrape_push.parse.parser", "_Parse._all_new", "cache_new"),
    ("scrape_push.parse.parser", "_Parse._comments", "parse"),  # (read from ``_all_new`` too)
    ("scrape_push.scrape.series", "SeriesCache._entries", "cache_new"),
    ("scrape_push.scrape.series", "SeriesCache._remember", "cache_keep"),
    ("scrape_push.scrape.series", "SeriesCache._commit", "cache_keep"),
    ("scrape_push.scrape.scraper", "Scraper.series_cache", "cache_keep"),
    ("scrape_push.scrape.series", "SeriesCache._samples", "stamp"),
    ("scrape_push.sinks.remote_write.sink", "relabel_series", "relabel"),
    ("scrape_push.limits", "ScrapeBudget.admit", "limits"),
    ("scrape_push.limits", "ScrapeBudget.charge", "limits"),
    ("scrape_push.budget", "Account.charge", "limits"),
    ("scrape_push.scrape.scraper", "parse_working_bytes", "limits"),
    ("scrape_push.scrape.scraper", "synthetic", "synthetic"),
    ("scrape_push.scrape.scraper", "Scraper.scrape", "scrape_rest"),
    ("scrape_push.scrape.scraper", "Scraper._run", "scrape_rest"),
    ("scrape_push.pipeline", "Pipeline.run", "join"),
    ("scrape_push.sinks.remote_write.sink", "to_series", "group"),
    ("scrape_push.sinks.remote_write.sink", "batches", "batch"),
    ("scrape_push.sinks.remote_write.sink", "RemoteWriteSink.prepare", "batch"),
    ("scrape_push.sinks.remote_write.sink", "encode_batch", "encode"),
    ("scrape_push.sinks.remote_write.sink", "compress", "snappy"),
    ("scrape_push.sinks.remote_write.sink", "metadata", "metadata"),
    ("scrape_push.sinks.remote_write.sink", "_metadata_request", "metadata"),
    ("scrape_push.sinks.remote_write.transport", "Sender.send", "post"),
    ("scrape_push.delivery", "account", "account"),
    ("scrape_push.delivery", "DirectDelivery.push", "account"),
    ("threading", "Thread.run", "handoff"),
    ("concurrent.futures.thread", "_WorkItem.run", "handoff"),
    ("scrape_push.scrape.scraper", "Scraper.scrape_all", "handoff"),
    ("scrape_push.pipeline", "push_all", "handoff"),
    ("scrape_push.sinks.remote_write.sink", "RemoteWriteSink.deliver", "handoff"),
    ("scrape_push.runtime", "Runtime.start_invocation", "config"),
    ("scrape_push.config.source", "ConfigSource.load", "config"),
    ("scrape_push.runtime", "Runtime.pipeline", "build"),
    ("scrape_push.pipeline", "build_targets", "build"),
    ("scrape_push.pipeline", "Pipeline.deliveries", "build"),
    ("scrape_push.sinks.remote_write.sink", "RemoteWriteSink.sender", "build"),
    ("scrape_push.invoke", "summarise", "summary"),
    ("scrape_push.selfmetrics", "publish", "summary"),
)
ITERATORS = {"chunks"}
LAZY_SINK = "scrape_push.sinks.remote_write.sink"
"""The sink's modules, imported by the first cycle that builds the sink (plugins.py)."""
"""Seams that return an iterator whose steps do the work."""


def install_timers(timers: Timers) -> None:
    for module_name, path, row in SEAMS:
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        _wrap(timers, owner, name, row, iterator=name in ITERATORS)
    fetch = importlib.import_module("scrape_push.fetch")
    inflater = fetch.zlib_ng
    fetch.zlib_ng = SimpleNamespace(  # type: ignore[attr-defined]
        decompressobj=lambda wbits: _TimedDecoder(timers, inflater, wbits),
        error=inflater.error,
        MAX_WBITS=inflater.MAX_WBITS,
    )
    invoke = importlib.import_module("scrape_push.invoke")
    invoke.logger.info = timers.call("summary", invoke.logger.info)  # the "cycle done" line
    gc.callbacks.append(timers.collection)


def timer_cost(timers: Timers, calls: int = 20_000) -> float:
    """CPU seconds one timed call adds (measured around an empty function, then forgotten)."""
    empty = timers.call("other", lambda: None)
    start = time.thread_time()
    for _ in range(calls):
        empty()
    took = time.thread_time() - start
    timers.take()
    return took / calls


def hook(mode: str) -> Callable[[], dict[str, object]]:
    """Called by devtools/handler_runner.py in the handler's process (``HOOK_ENV``)."""
    if os.environ.get(KIND_ENV) == "functions":
        return _function_profile()
    start = time.process_time()
    timers = Timers()
    install_timers(timers)  # imports what the first cycle would import later: counted as imports
    imports = time.process_time() - start if mode == "cold" else 0.0
    cost = timer_cost(timers)

    def profile() -> dict[str, object]:
        return {**timers.take(), "timer_cost": cost, "hook_imports": imports}

    return profile


def _function_profile() -> Callable[[], dict[str, object]]:
    """cProfile on every thread (each its own profiler, on its CPU clock), merged per invocation."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_profile() -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()

    def on_new_thread(*_: object) -> None:
        sys.setprofile(None)
        start_profile()

    threading.setprofile(on_new_thread)
    start_profile()

    def profile() -> dict[str, object]:
        out = io.StringIO()
        with lock:
            taken = list(profiles)
            profiles.clear()
        for found in taken:
            found.disable()
        stats = pstats.Stats(taken[0], stream=out)
        for found in taken[1:]:
            stats.add(found)
        stats.sort_stats("tottime").print_stats(60)
        start_profile()
        return {"functions": out.getvalue()}

    return profile


# -- in the benchmark's process: running and tabulating ----------------------------------------


def runner_env(kind: str) -> dict[str, str]:
    root = BENCH.parent
    return {"PYTHONPATH": f"{root}:{BENCH}", HOOK_ENV: HOOK, KIND_ENV: kind}


def rows_of(record: dict[str, Any], cold: bool) -> tuple[dict[str, float], float, float]:
    """Per row, the CPU seconds of one invocation, the timers' own cost taken out (from the row
    each timed call belongs to); its total; and that cost."""
    profile = record["profile"]
    rows = dict.fromkeys(ROWS, 0.0)
    rows.update(profile["own"])
    cost = profile["timer_cost"]
    for row, calls in profile["calls"].items():
        rows[row] -= calls * cost
    total = record["cpu_end"] - record["cpu_start"]
    if cold:  # from the process's start, but for the hook's own setting up
        total += record["cpu_imports"] + profile["hook_imports"]
        rows["start"] = record["cpu_at_start"]
        rows["imports"] = record["cpu_imports"] - record["cpu_at_start"] + profile["hook_imports"]
    overhead = cost * sum(profile["calls"].values())
    rows["other"] = total - overhead - sum(value for key, value in rows.items() if key != "other")
    return rows, total - overhead, overhead


@dataclass
class Profile:
    """One mode's profile: mean CPU seconds per row and in all (the timers' cost taken out),
    that cost's share, and CPU per sample of the same invocations without the timers."""

    rows: dict[str, float]
    total: float
    overhead: float
    unprofiled: float


def _mean(runs: Sequence[tuple[dict[str, float], float, float]], unprofiled: float) -> Profile:
    rows = {key: statistics.fmean(run[0][key] for run in runs) for key in ROWS}
    total = statistics.fmean(run[1] for run in runs)
    return Profile(rows, total, statistics.fmean(run[2] for run in runs) / total, unprofiled)


def profile_shape(bench: bench_e2e.Bench, shape: bench_e2e.Shape) -> dict[str, Profile]:
    """Warm and cold, each run as the benchmark runs it, then with the timers."""
    unprofiled = bench_e2e.handler_warm(bench).per_sample
    warm = []
    with bench.runner("warm", "handler-warm", runner_env("stages")).started() as invoke:
        for number in range(shape.warm_up + shape.warm_cycles):
            record = invoke()
            if number >= shape.warm_up:
                warm.append(rows_of(record, cold=False))
    profiles = {"warm": _mean(warm, unprofiled)}
    unprofiled = bench_e2e.handler_cold(bench).per_sample
    cold = []
    runner = bench.runner("cold", "handler-cold", runner_env("stages"))
    for _ in range(shape.cold_runs):
        with runner.started() as invoke:
            cold.append(rows_of(invoke(), cold=True))
    profiles["cold"] = _mean(cold, unprofiled)
    return profiles


def print_profile(shape: bench_e2e.Shape, profiles: dict[str, Profile]) -> None:
    samples = shape.samples
    print(f"\n{shape.label}: CPU per sample by stage ({samples:,} samples an invocation)\n")
    print("| stage | warm µs/sample | warm % | cold µs/sample | cold % |")
    print("|---|---:|---:|---:|---:|")
    for key, label in ROWS.items():
        cells = []
        for mode in ("warm", "cold"):
            found = profiles[mode]
            cells += [f"{found.rows[key] / samples * 1e6:.3f}", f"{100 * found.rows[key] / found.total:.1f}"]
        if any(float(cell) for cell in cells):
            print(f"| {label} | {' | '.join(cells)} |")
    warm, cold = (profiles[mode].total / samples * 1e6 for mode in ("warm", "cold"))
    print(f"| **whole invocation** | **{warm:.3f}** | 100 | **{cold:.3f}** | 100 |")
    print(f"| the same without the timers | {profiles['warm'].unprofiled * 1e6:.3f} | | ", end="")
    print(f"{profiles['cold'].unprofiled * 1e6:.3f} | |")
    print(
        f"\ntimers' own cost, taken out above: {100 * profiles['warm'].overhead:.1f}% of the warm"
        f" invocation, {100 * profiles['cold'].overhead:.1f}% of the cold one"
    )


def print_functions(bench: bench_e2e.Bench, shape: bench_e2e.Shape, count: int) -> None:
    """The ``count`` functions of most own CPU in a warm invocation and in a cold one."""
    with bench.runner("warm", "handler-warm", runner_env("functions")).started() as invoke:
        for _ in range(shape.warm_up):
            invoke()
        warm = invoke()
    with bench.runner("cold", "handler-cold", runner_env("functions")).started() as invoke:
        cold = invoke()
    for mode, record in (("warm", warm), ("cold", cold)):
        lines = record["profile"]["functions"].splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"\n{shape.label}: a {mode} invocation under cProfile (every thread, CPU clock), by own time\n")
        print("\n".join(lines[start : start + count + 1]))


IMPORT_ORDER = (
    "urllib3",
    "requests",
    "yaml",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "cramjam",
)
"""The handler's dependencies, imported one after the other before it: each is charged what it
imports that those before it did not. boto3 and Powertools Parameters are not among them: a
cold start into a sink that makes no boto3 call imports neither (``ssm.py``)."""
IMPORT_RUNS = 5
"""Fresh processes the imports are timed in (the median is shown)."""
_IMPORT_PROBE = """
import sys, time, importlib, json
sys.path.insert(0, {function_dir!r})
took = {{"interpreter start": time.process_time()}}
for name in {order!r} + ("app", {lazy!r}):
    start = time.process_time()
    importlib.import_module(name)
    took[name] = time.process_time() - start
print(json.dumps(took))
"""


def print_imports() -> None:
    """What a cold start's imports cost in CPU, by package, in fresh processes: the handler's
    dependencies, then its module (``app``: the package's modules Lambda's init loads), then the
    sink modules its first cycle imports."""
    function_dir = str(BENCH.parent / "functions" / "scrape_push")
    probe = _IMPORT_PROBE.format(function_dir=function_dir, order=IMPORT_ORDER, lazy=LAZY_SINK)
    runs = []
    for _ in range(IMPORT_RUNS):
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
        )
        runs.append(json.loads(done.stdout))
    print(f"\nCPU of a cold start's imports, by what is imported (median of {IMPORT_RUNS} processes)\n")
    print("| imported | ms |")
    print("|---|---:|")
    for name in runs[0]:
        print(f"| {name} | {statistics.median(run[name] for run in runs) * 1000:.0f} |")
    print(f"| **all** | **{statistics.median(sum(run.values()) for run in runs) * 1000:.0f}** |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=sorted(bench_e2e.SHAPES), action="append", help="default: both")
    parser.add_argument(
        "--functions", type=int, default=0, metavar="N", help="also list N functions (cProfile)"
    )
    args = parser.parse_args(argv)
    found = bench_e2e.binaries()
    receiver = found["victoria-metrics"]
    if receiver is None:
        print("profile: skipped: the handler writes into VictoriaMetrics")
        return 0
    print(f"profile: {bench_e2e.machine()}")
    print(f"profile: {bench_e2e.compiled_as_deployed()}")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="profile-handler-")))
        for name in args.shape or ["single", "fleet"]:
            shape = bench_e2e.SHAPES[name]
            (work / name).mkdir()
            with bench_e2e.setting(shape, receiver, work / name) as bench:
                print_profile(shape, profile_shape(bench, shape))
                if args.functions:
                    print_functions(bench, shape, args.functions)
    print_imports()
    return 0


if __name__ == "__main__":
    sys.exit(main())
