"""A sharded fleet's cost per worker: 100 to 2,000 targets of 1,000 series at 1, 2, 4 and 8 shards.

    python bench/bench_fleet.py                         # the whole grid (about 15 minutes)
    python bench/bench_fleet.py --targets 500 --shards 1 2

For each size and shard count: a fresh planner and one fresh execution environment per shard
(``devtools.fleet``: the real handler, each environment a process of its own), a moto server
with the template's resources and shard queue, ``devtools.target_fleet`` serving the targets and
a Remote Write receiver that only counts. Two cycles: the first cold (new processes, imports
included, as a new Lambda execution environment pays them), the second warm, each shard in the
environment it had (the affinity Lambda does not promise: a worker that ran another shard before
is cold again). Shards run one after another, so each worker has the machine's CPU to itself, as
a Lambda worker has its own; the cycle's wall time on Lambda is about the planner's plus the
slowest worker's, printed as ``cycle wall``.

Per worker it prints the series it handled, CPU (cold: the process's from its start; warm: the
invocation's) and their ratio, wall time, peak RSS and peak RSS per series. ``--memory`` is the
function size the cycle's memory budget is planned for (default 10,240 MB, so that every
configuration runs whole and the figures show what it needs; at 1,769 MB a shard too large fails
its targets with the budget's error instead).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from devtools import processes, target_fleet
from devtools.fleet import FleetCycle, Invocation, LocalFleet, emulated_account, fragments, put_config

SIZES = (100, 500, 1000, 2000)
SHARDS = (1, 2, 4, 8)
SERIES = 1000
TIMEOUT_SECONDS = 600.0
LAMBDA_VCPU_MB = 1769


def missing() -> list[str]:
    """What this benchmark needs and this machine lacks (it installs nothing)."""
    lacks: list[str] = []
    try:
        processes.moto_server_command(0)
    except FileNotFoundError as exc:
        lacks.append(str(exc))
    if not target_fleet.FIXTURE.is_file():
        lacks.append(f"{target_fleet.FIXTURE} (the targets' exposition) is missing")
    return lacks


def workers_of(cycle: FleetCycle) -> list[Invocation]:
    """The invocations that scraped: the shards', or the planner's when it ran the cycle."""
    return cycle.workers or [cycle.planner]


def series_of(invocation: Invocation) -> int:
    return sum(int(s.get("samples", 0)) for s in invocation.summaries if s and "sinks" in s)


def shard_of(invocation: Invocation) -> int:
    shard = invocation.shard
    return int(shard["shard"]) if shard else 0


def measure(
    app: target_fleet.Targets, workdir: Path, targets: int, shards: int, memory_mb: int
) -> list[FleetCycle]:
    """A cold cycle and a warm one of ``targets`` in ``shards``, on new processes."""
    with emulated_account(workdir) as (env, queues):
        put_config(env, fragments(app.addresses[:targets], app.write_url, shards, scrape_timeout="60s"))
        fleet = LocalFleet(workdir, env, queues, workers=shards if shards > 1 else 0)
        try:
            return [fleet.cycle(TIMEOUT_SECONDS, memory_mb, by_shard=True) for _ in range(2)]
        finally:
            fleet.stop()


def report(targets: int, shards: int, cold: FleetCycle, warm: FleetCycle) -> None:
    warm_by_shard = {shard_of(w): w for w in workers_of(warm)}
    for worker in sorted(workers_of(cold), key=shard_of):
        again = warm_by_shard[shard_of(worker)]
        series = series_of(worker)
        peak_kb = max(worker.max_rss_kb, again.max_rss_kb)
        cpu = (worker.process_cpu_seconds, again.cpu_seconds)
        wall = (worker.wall_seconds, again.wall_seconds)
        cells = [f"{targets:>7}", f"{shards:>6}", f"{shard_of(worker):>6}", f"{series:>9,}"]
        cells += [f"{cpu[0]:>9.2f}", f"{cpu[1]:>9.2f}", f"{cpu[0] / cpu[1]:>6.1f}x"]
        cells += [
            f"{wall[0]:>8.2f}",
            f"{wall[1]:>8.2f}",
            f"{peak_kb / 1024:>8.0f}",
            f"{peak_kb * 1024 / series:>9.0f}",
        ]
        over = "  over 1,769 MB" if peak_kb > LAMBDA_VCPU_MB * 1024 else ""
        print(" ".join(cells) + over)
    for name, cycle in (("cold", cold), ("warm", warm)):
        slowest = max(w.wall_seconds for w in workers_of(cycle))
        planner = cycle.planner.wall_seconds if cycle.workers else 0.0
        print(f"{'':>21} cycle wall, {name}: {planner + slowest:.2f} s (planner {planner:.2f} s + slowest)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--shards", type=int, nargs="+", default=list(SHARDS))
    parser.add_argument("--memory", type=int, default=10240, help="the function's MemorySize, MB")
    args = parser.parse_args()
    lacks = missing()
    if lacks:
        print("bench_fleet: skipped: " + "; ".join(lacks))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started, as on ^C
    workdir = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    print(f"{SERIES} series per target; workers one at a time, each in its own process; logs in {workdir}")
    heads = [("targets", 7), ("shards", 6), ("worker", 6), ("series", 9), ("cold CPU", 9), ("warm CPU", 9)]
    heads += [("ratio", 7), ("cold s", 8), ("warm s", 8), ("peak MB", 8), ("B/series", 9)]
    print(" ".join(f"{name:>{width}}" for name, width in heads))
    with ExitStack() as stack:
        app = stack.enter_context(target_fleet.running(workdir, max(args.targets), SERIES))
        for targets in args.targets:
            for shards in args.shards:
                run = workdir / f"{targets}-{shards}"
                run.mkdir()
                report(targets, shards, *measure(app, run, targets, shards, args.memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
