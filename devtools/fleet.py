"""A sharded fleet on this machine: the real planner and the real shard invocations, each in an
execution environment of its own (``devtools.fleet_environment``), fed by the emulator's SQS
queue through pollers that build the event Lambda sends (``devtools.shard_poller``).

    python -m devtools.fleet --targets 200 --series 1000 --shards 4 --cycles 2
    python -m devtools.fleet --targets 2000 --shards 0 --workers 8      # automatic count

Starts a moto server and ``devtools.target_fleet`` (the targets, and a Remote Write receiver
that counts what it gets); creates the template's state
table, backlog bucket and shard queues; writes the configuration into SSM as fragments (one per
few hundred targets, as a fleet this size needs: ``ConfigPath``); then runs each cycle: the
planner's invocation with the scheduled event, then ``--workers`` pollers, each invoking its own
environment, until the queue is empty. It prints what each invocation did and cost, and stops
every process it started.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from devtools import processes, resources, target_fleet
from devtools.local_invoke import LAMBDA_ENVIRONMENT
from devtools.shard_poller import Poller

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
CONFIG_PATH = "/scrape-push/fleet/"
TARGETS_PER_FRAGMENT = 300
"""Targets per configuration fragment: 300 addresses stay below SSM's 8 KB (Advanced tier)."""
SCHEDULED_EVENT = ROOT / "events" / "scheduled.json"
QUEUE_IDLE_SECONDS = 1


@dataclass
class Invocation:
    """One invocation an environment ran, and what it cost."""

    role: str
    """``planner`` or ``worker``."""
    answer: Any
    error: str | None
    summaries: list[dict[str, Any]]
    wall_seconds: float
    cpu_seconds: float
    process_cpu_seconds: float
    max_rss_kb: int
    first: bool
    """The environment's first invocation (a cold start)."""

    @property
    def shard(self) -> dict[str, Any] | None:
        found = [s.get("shard") for s in self.summaries if s and "shard" in s]
        return found[0] if found else None


class Environment:
    """An execution environment: a process running invocations one at a time."""

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "devtools.fleet_environment"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env={**LAMBDA_ENVIRONMENT, **os.environ, **env, "PYTHONPATH": str(ROOT)},
            text=True,
        )
        self.invocations = 0
        self.lock = threading.Lock()

    def invoke(self, role: str, event: Any, timeout: float, memory_mb: int) -> Invocation:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        with self.lock:
            self.popen.stdin.write(
                json.dumps({"event": event, "timeout": timeout, "memory_mb": memory_mb}) + "\n"
            )
            self.popen.stdin.flush()
            line = self.popen.stdout.readline()
            if not line:
                raise RuntimeError(f"the environment (pid {self.popen.pid}) exited; see {self.log.name}")
            self.invocations += 1
            done = json.loads(line)
            return Invocation(role=role, first=self.invocations == 1, **done)

    def stop(self) -> None:
        """Stop it by its PID (closing its input ends it; SIGKILL if it lingers)."""
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
        self.log.close()


@dataclass
class FleetCycle:
    """One cycle: the planner's invocation and every shard invocation."""

    planner: Invocation
    workers: list[Invocation] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def planned(self) -> dict[str, Any]:
        return self.planner.summaries[-1] if self.planner.summaries else {}


class LocalFleet:
    """A planner environment and worker environments around one shard queue."""

    def __init__(
        self, workdir: Path, env: dict[str, str], queues: resources.ShardQueues, workers: int
    ) -> None:
        self.env = env
        self.queues = queues
        self.planner = Environment(workdir / "planner.log", env)
        self.workers = [Environment(workdir / f"worker-{i}.log", env) for i in range(workers)]

    def cycle(self, timeout: float, memory_mb: int, by_shard: bool = False) -> FleetCycle:
        """Plan a cycle and run its shards in parallel, as the event source mapping would (any
        free environment takes the next message); with ``by_shard``, one at a time, each shard
        always in the same environment (warm affinity, which Lambda does not promise)."""
        started = time.monotonic()
        event = json.loads(SCHEDULED_EVENT.read_text())
        done = FleetCycle(self.planner.invoke("planner", event, timeout, memory_mb))
        if by_shard:
            done.workers = self._one_by_one(timeout, memory_mb)
        else:
            done.workers = self._in_parallel(timeout, memory_mb)
        done.wall_seconds = time.monotonic() - started
        return done

    def _poller(
        self, environment: Environment, timeout: float, memory_mb: int, made: list[Invocation]
    ) -> Poller:
        def invoke(event: dict[str, Any]) -> Any:
            invocation = environment.invoke("worker", event, timeout, memory_mb)
            made.append(invocation)
            if invocation.error is not None:
                raise RuntimeError(invocation.error)
            return invocation.answer

        return Poller(_client(self.env, "sqs"), self.queues.url, self.queues.arn, invoke)

    def _in_parallel(self, timeout: float, memory_mb: int) -> list[Invocation]:
        made: list[Invocation] = []
        pollers = [self._poller(env, timeout, memory_mb, made) for env in self.workers]
        give_up = time.monotonic() + 2 * timeout  # a message hidden by a crash never comes back in time

        def run(poller: Poller) -> None:
            while poller.poll(QUEUE_IDLE_SECONDS) is not None or poller.in_queue() > 0:
                if time.monotonic() > give_up:
                    return

        threads = [threading.Thread(target=run, args=(poller,), daemon=True) for poller in pollers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return made

    def _one_by_one(self, timeout: float, memory_mb: int) -> list[Invocation]:
        from scrape_push.shards.message import decode

        made: list[Invocation] = []
        pollers = [self._poller(env, timeout, memory_mb, made) for env in self.workers]
        if not pollers:
            return made
        waiting = pollers[0]
        while batch := waiting.receive(QUEUE_IDLE_SECONDS):
            shard = decode(batch[0]["Body"]).shard
            pollers[shard % len(pollers)].deliver(batch)
        return made

    def stop(self) -> None:
        for environment in [self.planner, *self.workers]:
            environment.stop()


def _client(env: dict[str, str], service: str) -> Any:
    """A client of the emulated account ``env`` describes."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def fragments(
    addresses: Sequence[str], write_url: str, shards: int, scrape_timeout: str = "30s"
) -> dict[str, str]:
    """The fleet's configuration as SSM fragments: the sink and runtime, then the jobs."""
    head = {
        "global": {"scrape_interval": "5m", "scrape_timeout": scrape_timeout},
        "remote_write": [{"url": write_url, "name": "fleet", "metadata_config": {"send": False}}],
        "runtime": {"shards": shards},
    }
    parts = {f"{CONFIG_PATH}0-sinks": yaml.safe_dump(head, sort_keys=False)}
    for start in range(0, len(addresses), TARGETS_PER_FRAGMENT):
        number = start // TARGETS_PER_FRAGMENT
        job = {
            "job_name": f"fleet-{number:03d}",
            "static_configs": [{"targets": list(addresses[start : start + TARGETS_PER_FRAGMENT])}],
        }
        parts[f"{CONFIG_PATH}job-{number:03d}"] = yaml.safe_dump({"scrape_configs": [job]}, sort_keys=False)
    return parts


@contextmanager
def emulated_account(workdir: Path) -> Iterator[tuple[dict[str, str], resources.ShardQueues]]:
    """A moto server with the template's resources, and the function's environment for it."""
    with processes.running(*_moto(workdir)) as moto:
        env = {
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "CONFIG_PARAMETER": CONFIG_PATH,
            "POWERTOOLS_PARAMETERS_MAX_AGE": "5",
        }
        env["STATE_TABLE"] = resources.create_state_table(_client(env, "dynamodb"))
        env["BACKLOG_BUCKET"] = resources.create_backlog_bucket(_client(env, "s3"))
        queues = resources.create_shard_queues(_client(env, "sqs"))
        env["SHARD_QUEUE_URL"] = queues.url
        yield env, queues


def _moto(workdir: Path) -> tuple[list[str], int, Path]:
    port = processes.free_port()
    return processes.moto_server_command(port), port, workdir / "moto.log"


def put_config(env: dict[str, str], parts: dict[str, str]) -> None:
    ssm = _client(env, "ssm")
    for name, text in parts.items():
        ssm.put_parameter(Name=name, Value=text, Type="String", Overwrite=True, Tier="Advanced")


def print_cycle(number: int, cycle: FleetCycle) -> None:
    shards = cycle.planned.get("shards", {})
    planned = cycle.planned.get("targets_planned", cycle.planned.get("targets_up"))
    print(
        f"cycle {number}: {cycle.wall_seconds:.1f} s; planner: {shards.get('planned')} shard(s) planned, "
        f"{shards.get('sent')} sent, {planned} targets"
    )
    rows = [("planner", cycle.planner)] + [("worker", w) for w in cycle.workers]
    heads = ("shard", "up", "samples", "sent", "wall s", "CPU s", "RSS MB")
    print(f"  {'invocation':<12}" + "".join(f"{head:>9}" for head in heads))
    for role, invocation in rows:
        summary = next((s for s in invocation.summaries if s and "sinks" in s), {})
        shard = invocation.shard or {}
        sent = sum(sink.get("sent", 0) for sink in summary.get("sinks", []))
        cpu = invocation.process_cpu_seconds if invocation.first else invocation.cpu_seconds
        cells = (shard.get("shard", "-"), summary.get("targets_up", "-"), summary.get("samples", "-"), sent)
        figures = (invocation.wall_seconds, cpu, invocation.max_rss_kb / 1024)
        name = role + (" cold" if invocation.first else "")
        print(
            f"  {name:<12}"
            + "".join(f"{cell!s:>9}" for cell in cells)
            + "".join(f"{f:>9.2f}" for f in figures)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=1000, help="series per target")
    parser.add_argument("--shards", type=int, default=4, help="runtime.shards (0: automatic)")
    parser.add_argument("--workers", type=int, default=4, help="environments running shards at once")
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--memory", type=int, default=1769, help="the function's memory, MB")
    parser.add_argument("--timeout", type=float, default=120.0, help="the function's timeout, s")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started, as on ^C
    workdir = Path(tempfile.mkdtemp(prefix="scrape-push-fleet-"))
    with ExitStack() as stack:
        app = stack.enter_context(target_fleet.running(workdir, args.targets, args.series))
        env, queues = stack.enter_context(emulated_account(workdir))
        put_config(env, fragments(app.addresses, app.write_url, args.shards))
        fleet = LocalFleet(workdir, env, queues, args.workers)
        stack.callback(fleet.stop)
        print(f"{args.targets} targets x {args.series} series; logs in {workdir}")
        for number in range(1, args.cycles + 1):
            print_cycle(number, fleet.cycle(args.timeout, args.memory))
        counts = app.counts()
        print(f"receiver: {counts['requests']} Remote Write requests, {counts['bytes']:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
