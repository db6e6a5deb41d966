"""What a worker's memory holds per series: peak RSS per cycle, and tracemalloc's allocation
sites by file and line at the push (every sample of the cycle held) and after the cycle (the
warm state). The table of docs/scaling.md ("What a cached series holds").

    .venv/bin/python bench/profile_memory.py                      # 500 x 1,000 series, 3 cycles
    .venv/bin/python bench/profile_memory.py --targets 200 --trace --top 30
    .venv/bin/python bench/profile_memory.py --no-record          # runtime.staleness_record: false
    .venv/bin/python bench/profile_memory.py --default-malloc     # glibc's arenas, not the template's

One shard in this process, as one worker runs it: ``devtools.target_fleet`` serves the targets
and counts the Remote Write requests, a moto server holds the configuration and the state
table (``devtools.fleet``), and ``devtools.local_invoke`` invokes the real handler, cycle after
cycle, the first cold. Each cycle's peak RSS is the process's ``VmHWM``, reset before the
cycle (``/proc/self/clear_refs``). ``--trace`` starts tracemalloc before the first cycle, so
that the warm state is all traced (it slows the cycles several times and adds its own memory
to the RSS figures). The process runs with the environment the template gives the function
(``MALLOC_ARENA_MAX`` and ``MALLOC_MMAP_THRESHOLD_``, which glibc reads when a process starts: it
starts itself again with them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from devtools import target_fleet
from devtools.fleet import CONFIG_PATH, emulated_account, fragments, put_config
from devtools.local_invoke import LAMBDA_ENVIRONMENT, invoke

SERIES = 1000
MEMORY_MB = 10240
TIMEOUT_SECONDS = 600.0


def status(field: str) -> int:
    """A ``/proc/self/status`` figure in bytes (``VmHWM``, ``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def configuration(app: target_fleet.Targets, record: bool) -> dict[str, str]:
    parts = fragments(app.addresses, app.write_url, 1, scrape_timeout="60s")
    if not record:
        head = f"{CONFIG_PATH}0-sinks"
        loaded = yaml.safe_load(parts[head])
        loaded["runtime"]["staleness_record"] = False
        parts[head] = yaml.safe_dump(loaded, sort_keys=False)
    return parts


def print_sites(title: str, snapshot: tracemalloc.Snapshot, series: int, top: int) -> None:
    stats = snapshot.statistics("lineno")
    total = sum(stat.size for stat in stats)
    print(f"{title}: {total / 1e6:.1f} MB traced, {total / series:.0f} B per series")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        where = frame.filename.split("scrape_push/")[-1].split("site-packages/")[-1]
        figures = f"{stat.size / 1e6:8.1f} MB {stat.size / series:7.1f} B/series {stat.count:>10,}"
        print(f"  {figures}  {where}:{frame.lineno}")


MALLOC = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")
"""The template's settings of glibc's malloc, read when a process starts."""


def restart_as_lambda(*, default_malloc: bool) -> None:
    """Start this process again unless it has the template's ``MALLOC`` settings (or, with
    ``default_malloc``, none)."""
    wanted = {} if default_malloc else {name: LAMBDA_ENVIRONMENT[name] for name in MALLOC}
    if {name: os.environ[name] for name in MALLOC if name in os.environ} != wanted:
        env = {key: value for key, value in os.environ.items() if key not in MALLOC}
        os.execve(sys.executable, [sys.executable, *sys.argv], {**env, **wanted})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--trace", action="store_true", help="tracemalloc from the first cycle on")
    parser.add_argument("--top", type=int, default=20, help="allocation sites printed")
    parser.add_argument("--no-record", action="store_true", help="runtime.staleness_record: false")
    parser.add_argument("--default-malloc", action="store_true", help="no MALLOC_* set (glibc's own)")
    args = parser.parse_args(argv)
    restart_as_lambda(default_malloc=args.default_malloc)
    workdir = Path(tempfile.mkdtemp(prefix="profile-memory-"))
    series = args.targets * (SERIES + 5)
    with ExitStack() as stack:
        app = stack.enter_context(target_fleet.running(workdir, args.targets, SERIES))
        env, _ = stack.enter_context(emulated_account(workdir))
        put_config(env, configuration(app, not args.no_record))
        env.pop("SHARD_QUEUE_URL")  # one invocation scrapes everything, as one shard's worker
        os.environ.update(env)
        from scrape_push import pipeline

        at_push: list[tracemalloc.Snapshot] = []
        push_all = pipeline.push_all

        def snapshot_then_push(*push: Any) -> Any:
            if tracemalloc.is_tracing():
                at_push[:] = [tracemalloc.take_snapshot()]
            return push_all(*push)

        pipeline.push_all = snapshot_then_push
        if args.trace:
            tracemalloc.start()
        print(f"{args.targets} targets x {SERIES} series; logs in {workdir}")
        for number in range(args.cycles):
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM from here
            cpu = time.process_time()
            invoke({}, TIMEOUT_SECONDS, memory_mb=MEMORY_MB)
            peak, now = status("VmHWM"), status("VmRSS")
            kind = "cold" if number == 0 else "warm"
            print(
                f"cycle {number + 1} ({kind}): CPU {time.process_time() - cpu:.2f} s, peak RSS "
                f"{peak / 2**20:.0f} MB ({peak / series:.0f} B per series), after {now / 2**20:.0f} MB"
            )
        if args.trace:
            if at_push:
                print_sites("at the last push", at_push[0], series, args.top)
            print_sites("after the last cycle", tracemalloc.take_snapshot(), series, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
