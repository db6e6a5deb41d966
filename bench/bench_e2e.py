"""End to end, in one run: the real handler (warm and cold) against the Go agents, CPU per sample.

    make bench   (or: .venv/bin/python bench/bench_e2e.py [--shape single|fleet])

Senders, each scraping the SAME node_exporter-shaped targets (devtools/target_fleet.py) and remote
writing into the SAME single-node VictoriaMetrics, one after the other:

* the handler, warm: ``app.lambda_handler`` invoked again and again in one process
  (devtools/handler_runner.py), its configuration read from SSM (a moto server) as in Lambda;
* the handler, cold: a new Python process per invocation, its CPU counted from the process's
  start -- interpreter, imports, configuration, first cycle -- as a new execution environment
  pays it;
* the Prometheus agent (``prometheus --enable-feature=agent``) and vmagent, with one scrape
  interval, left to warm up, then measured over whole intervals of steady state.

Shapes: one target of 100,000 series, and 500 targets of 1,000 series (5 jobs of 100).

What is counted: CPU of the sender's process (user + system, all threads: /proc/<pid>/stat for
the agents, ``time.process_time`` inside the handler's process), per exposition sample scraped
(the targets' own series; each sender adds its ``up``/``scrape_*`` series on top). Peak RSS is
each process's ``VmHWM``. Every sender's delivery is checked with the receiver's query API: its
series, and for every scrape it delivered (its ``up`` points) all the target's points, so no one
wins by dropping data: a sender that did not is marked INCOMPLETE, left out of the ratios, and
the script exits 1. The table gives each sender's CPU over everything measured, and the range
of one cycle (handler) or interval (agents); with the machine's load average, since other work
on a shared machine moves every figure.

Binaries: Debian's ``prometheus`` and ``victoria-metrics`` packages (the latter ships
``vmagent``). A missing one is named with the command that installs it and its column skipped;
this script installs nothing.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3

from devtools import processes, target_fleet
from devtools.local_invoke import LAMBDA_ENVIRONMENT

INSTALL = "apt-get install prometheus victoria-metrics"
TARGETS_PER_JOB = 100
"""Jobs of at most this many targets: each job is one SSM parameter of the handler's
configuration, within the 4 KB of a Standard parameter (SSM's quotas: "Parameter value size")."""
MAX_SAMPLES_PER_SEND = 2000
"""Requests of this many samples: the handler's default and Prometheus's since 2.44 (Debian's
2.42 agent is set to match). vmagent keeps its own default (up to 10,000 rows a request)."""
MEMORY_MB = 2048
"""The function size the handler is given (``memory_limit_in_mb``): room for 500,000 samples a
cycle within its memory budget (docs/scaling.md)."""
TIMEOUT_SECONDS = 60
"""The function's timeout (the template's default ``Timeout``)."""
DELIVERY_WAIT_SECONDS = 60.0
"""How long a sender may take to deliver what it scraped before the end of its measurement."""
BOUNDARY_SLACK_SECONDS = 0.5
"""A scrape is told apart from the measurement's end by its timestamp (the receiver's view) and by
its arrival at the target (the fleet's view): they differ by less than this."""
REGION = "us-east-1"
SYNTHETIC = "up|scrape_.+"
"""The series a sender adds per target (5 for the handler and the Prometheus agent, 6 for vmagent)."""


@dataclass(frozen=True)
class Shape:
    name: str
    label: str
    targets: int
    series: int
    """Series per target."""
    interval: float
    """The agents' scrape interval, seconds."""
    intervals: int
    """Agent intervals measured, after two scrapes of warm-up."""
    warm_cycles: int
    """Warm invocations measured, after ``warm_up`` ones."""
    warm_up: int
    cold_runs: int

    @property
    def samples(self) -> int:
        """Exposition samples of one scrape of every target."""
        return self.targets * self.series


SHAPES = {
    "single": Shape(
        "single", "1 target x 100,000 series", targets=1, series=100_000,
        interval=3.0, intervals=8, warm_cycles=5, warm_up=2, cold_runs=3,
    ),
    "fleet": Shape(
        "fleet", "500 targets x 1,000 series", targets=500, series=1_000,
        interval=6.0, intervals=5, warm_cycles=4, warm_up=1, cold_runs=2,
    ),
}  # fmt: skip


@dataclass
class Measured:
    """One sender's figures on one shape: CPU and samples of each measured cycle or interval."""

    sender: str
    cpu: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    peak_rss: int = 0
    delivery: str = "not checked"
    complete: bool = True
    """Whether the receiver holds everything the sender scraped (else its figures do not count)."""
    skipped: str | None = None

    def checked(self, complete: bool, what: str) -> None:
        self.complete = self.complete and complete
        self.delivery = what if complete else f"INCOMPLETE: {what}"

    def add(self, cpu: float, samples: int) -> None:
        self.cpu.append(cpu)
        self.samples.append(samples)

    @property
    def per_sample(self) -> float:
        """CPU seconds per sample over everything measured."""
        return sum(self.cpu) / sum(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest CPU per sample of one cycle or interval."""
        each = [cpu / samples for cpu, samples in zip(self.cpu, self.samples, strict=True)]
        return min(each), max(each)

    def to_dict(self) -> dict[str, object]:
        return {
            "sender": self.sender,
            "skipped": self.skipped,
            "cpu": self.cpu,
            "samples": self.samples,
            "peak_rss_bytes": self.peak_rss,
            "delivery": self.delivery,
            "complete": self.complete,
        }


# -- processes ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid``, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss(pid: int) -> int:
    """Peak resident set of process ``pid`` in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def get(url: str, data: dict[str, str] | None = None) -> bytes:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, body, timeout=60) as response:
        return bytes(response.read())


def get_json(url: str, data: dict[str, str] | None = None) -> Any:
    return json.loads(get(url, data))


class Receiver:
    """The single-node VictoriaMetrics every sender writes to, asked what it holds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.write_url = f"{url}/api/v1/write"

    def value(self, query: str, at: float) -> float:
        """The single value of an instant ``query`` at ``at`` (0 when it matches nothing)."""
        get(f"{self.url}/internal/force_flush")  # make what was just written searchable
        answer = get_json(f"{self.url}/api/v1/query", {"query": query, "time": f"{at:.3f}"})
        result = answer["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def delivered(self, sender: str, since: float, at: float) -> tuple[int, int, int, float]:
        """What ``sender`` delivered with timestamps in ``(since, at]``: (exposition series,
        scrapes, exposition points, lowest ``up``)."""
        window = f"[{max(1, int(at - since) + 1)}s]"
        own = f'{{sender="{sender}",__name__!~"{SYNTHETIC}"}}'
        up = f'up{{sender="{sender}"}}'
        return (
            int(self.value(f"count(last_over_time({own}{window}))", at)),
            int(self.value(f"sum(count_over_time({up}{window}))", at)),
            int(self.value(f"sum(count_over_time({own}{window}))", at)),
            self.value(f"min(min_over_time({up}{window}))", at),
        )


@contextmanager
def receiver(binary: str, tmp: Path) -> Iterator[Receiver]:
    port = processes.free_port()
    argv = [
        binary, f"-storageDataPath={tmp / 'vm'}", f"-httpListenAddr=127.0.0.1:{port}",
        "-search.latencyOffset=0s", "-search.disableCache", "-search.maxUniqueTimeseries=10000000",
        "-loggerLevel=WARN",
    ]  # fmt: skip
    with processes.running(argv, port, tmp / "victoria-metrics.log"):
        yield Receiver(f"http://127.0.0.1:{port}")


# -- configurations -----------------------------------------------------------------------------


def jobs_yaml(addresses: Sequence[str]) -> list[str]:
    """``scrape_configs`` entries, one job per ``TARGETS_PER_JOB`` targets."""
    jobs = []
    for number, start in enumerate(range(0, len(addresses), TARGETS_PER_JOB)):
        targets = ", ".join(f"'{a}'" for a in addresses[start : start + TARGETS_PER_JOB])
        jobs.append(f"  - job_name: node-{number}\n    static_configs:\n      - targets: [{targets}]\n")
    return jobs


def global_yaml(shape: Shape, sender: str) -> str:
    return (
        f"global:\n  scrape_interval: {shape.interval:g}s\n  scrape_timeout: {shape.interval:g}s\n"
        f"  external_labels: {{sender: {sender}}}\n"
    )


def remote_write_yaml(receiver: Receiver) -> str:
    return (
        f"remote_write:\n  - url: {receiver.write_url}\n"
        f"    queue_config: {{max_samples_per_send: {MAX_SAMPLES_PER_SEND}}}\n"
    )


# -- the setting of a shape ---------------------------------------------------------------------


@dataclass
class Bench:
    """What every sender of a shape shares: the targets, the receiver, and the moto server that
    holds the handler's configuration in SSM."""

    shape: Shape
    targets: target_fleet.Targets
    sink: Receiver
    tmp: Path
    handler_env: dict[str, str]
    ssm: Any

    def handler_config(self, sender: str) -> str:
        """Put the handler's configuration for ``sender`` in SSM, as fragments (one for the sink,
        one per job); returns the path that ``CONFIG_PARAMETER`` names."""
        path = f"/bench/{self.shape.name}/{sender}/"
        main = global_yaml(self.shape, sender) + remote_write_yaml(self.sink)
        self.ssm.put_parameter(Name=f"{path}main", Value=main, Type="String", Overwrite=True)
        for number, job in enumerate(jobs_yaml(self.targets.addresses)):
            text = "scrape_configs:\n" + job
            self.ssm.put_parameter(Name=f"{path}job-{number}", Value=text, Type="String", Overwrite=True)
        return path

    def runner(self, mode: str, sender: str, env: dict[str, str] | None = None) -> Runner:
        """The handler in a process of its own (devtools/handler_runner.py)."""
        argv = [sys.executable, "-m", "devtools.handler_runner", mode, str(MEMORY_MB), str(TIMEOUT_SECONDS)]
        config = {"CONFIG_PARAMETER": self.handler_config(sender)}
        return Runner(argv, {**self.handler_env, **config, **(env or {})})

    def agent_yaml(self, sender: str, remote_write: bool) -> str:
        text = (
            global_yaml(self.shape, sender) + "scrape_configs:\n" + "".join(jobs_yaml(self.targets.addresses))
        )
        return text + (remote_write_yaml(self.sink) if remote_write else "")


@contextmanager
def setting(shape: Shape, receiver_binary: str, tmp: Path) -> Iterator[Bench]:
    """The receiver, the targets and the moto server of ``shape``, stopped by PID on exit."""
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with ExitStack() as stack:
        sink = stack.enter_context(receiver(receiver_binary, tmp))
        targets = stack.enter_context(target_fleet.running(tmp, shape.targets, shape.series))
        moto = processes.start_moto(tmp / "moto.log")
        stack.callback(moto.stop)
        env = {
            **LAMBDA_ENVIRONMENT,
            **credentials,
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # every scheduled invocation (each minute) finds the template's 60 s cache expired
            "POWERTOOLS_PARAMETERS_MAX_AGE": "0",
            "PYTHONPATH": str(ROOT),
        }
        ssm = boto3.client(
            "ssm",
            endpoint_url=moto.url,
            region_name=REGION,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
        yield Bench(shape, targets, sink, tmp, env, ssm)


class Runner:
    """A handler process: one JSON line per invocation on its stdout (one per line sent to its
    stdin when warm). Stopped by PID on exit."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, **env}

    @contextmanager
    def started(self) -> Iterator[Callable[[], dict[str, Any]]]:
        """A function that invokes the handler once (warm) or reads its one answer (cold)."""
        child = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env, text=True
        )
        assert child.stdin is not None and child.stdout is not None
        stdin, stdout = child.stdin, child.stdout

        def invoke() -> dict[str, Any]:
            if self.argv[3] == "warm":
                stdin.write("invoke\n")
                stdin.flush()
            line = stdout.readline()
            if not line:
                raise RuntimeError(
                    f"{' '.join(self.argv)} ended without an answer (exit status {child.wait()})"
                )
            found: dict[str, Any] = json.loads(line)
            return found

        try:
            yield invoke
        finally:
            stdin.close()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()


# -- senders ------------------------------------------------------------------------------------


def check_invocations(measured: Measured, records: Sequence[dict[str, Any]], shape: Shape) -> None:
    """Whether every invocation's summary says every target was up and every sink sent all."""
    for record in records:
        summary = record["summary"]
        sinks = summary["sinks"]
        if summary["targets_up"] != shape.targets or not sinks or not all(s["ok"] for s in sinks):
            measured.checked(False, f"an invocation did not deliver everything: {json.dumps(summary)[:300]}")
            return


def handler_warm(bench: Bench) -> Measured:
    """Warm invocations in one process: ``warm_up`` of them, then ``warm_cycles`` measured."""
    shape = bench.shape
    measured = Measured("handler, warm")
    since = time.time() - 1
    with bench.runner("warm", "handler-warm").started() as invoke:
        records = [invoke() for _ in range(shape.warm_up + shape.warm_cycles)]
    for record in records[shape.warm_up :]:
        measured.add(record["cpu_end"] - record["cpu_start"], shape.samples)
    measured.peak_rss = records[-1]["peak_rss_bytes"]
    cycles = len(records)
    measured.checked(*check_delivery(bench, "handler-warm", since, time.time(), rounds=(cycles, cycles)))
    check_invocations(measured, records, shape)
    return measured


def handler_cold(bench: Bench) -> Measured:
    """One new process per invocation, its CPU counted from its start."""
    shape = bench.shape
    measured = Measured("handler, cold")
    since = time.time() - 1
    runner = bench.runner("cold", "handler-cold")
    records = []
    for _ in range(shape.cold_runs):
        with runner.started() as invoke:
            records.append(invoke())
    for record in records:
        measured.add(record["cpu_end"], shape.samples)
    measured.peak_rss = int(statistics.median(record["peak_rss_bytes"] for record in records))
    runs = shape.cold_runs
    measured.checked(*check_delivery(bench, "handler-cold", since, time.time(), rounds=(runs, runs)))
    check_invocations(measured, records, shape)
    return measured


@dataclass(frozen=True)
class Agent:
    name: str
    sender: str
    package: str


PROMETHEUS = Agent("Prometheus agent 2.42", "prometheus-agent", "prometheus")
VMAGENT = Agent("vmagent", "vmagent", "victoria-metrics")


def agent_argv(agent: Agent, binary: str, config: Path, port: int, bench: Bench) -> list[str]:
    data = bench.tmp / agent.sender
    if agent is PROMETHEUS:
        return [binary, "--enable-feature=agent", f"--config.file={config}", f"--storage.agent.path={data}",
                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]  # fmt: skip
    return [binary, f"-promscrape.config={config}", f"-remoteWrite.url={bench.sink.write_url}",
            f"-remoteWrite.tmpDataPath={data}", f"-httpListenAddr=127.0.0.1:{port}",
            "-loggerLevel=WARN"]  # fmt: skip


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def run_agent(agent: Agent, binary: str, bench: Bench) -> Measured:
    """Start the agent, let every target be scraped twice, then read its CPU at whole intervals
    (half an interval after a scrape: when a single target's agent is idle)."""
    shape, targets = bench.shape, bench.targets
    config = bench.tmp / f"{agent.sender}.yml"
    config.write_text(bench.agent_yaml(agent.sender, remote_write=agent is PROMETHEUS))
    port = processes.free_port()
    measured = Measured(agent.name)
    started = time.time()
    argv = agent_argv(agent, binary, config, port, bench)
    with processes.running(argv, port, bench.tmp / f"{agent.sender}.log") as process:
        processes.wait_until(
            lambda: targets.scrapes(started, time.time()) >= 2 * shape.targets,
            timeout=4 * shape.interval + 30,
        )
        first = targets.latest() + shape.interval / 2
        boundaries = [first + shape.interval * i for i in range(shape.intervals + 1)]
        readings = []
        for moment in boundaries:
            sleep_until(moment)
            readings.append(cpu_seconds(process.pid))
        for number in range(shape.intervals):
            scrapes = targets.scrapes(boundaries[number], boundaries[number + 1])
            measured.add(readings[number + 1] - readings[number], scrapes * shape.series)
        end = boundaries[-1]
        rounds = (
            targets.scrapes(started, end - BOUNDARY_SLACK_SECONDS) // shape.targets,
            -(-targets.scrapes(started, end + BOUNDARY_SLACK_SECONDS) // shape.targets),
        )
        measured.checked(*check_delivery(bench, agent.sender, started - 1, end, rounds=rounds))
        measured.peak_rss = peak_rss(process.pid)
    return measured


def check_delivery(
    bench: Bench, sender: str, since: float, at: float, *, rounds: tuple[int, int]
) -> tuple[bool, str]:
    """Whether ``sender`` delivered, by ``at``, all its series and every point of every scrape it
    made, between ``rounds[0]`` and ``rounds[1]`` scrapes of each target, every one of them up;
    and what the receiver holds. It may take ``DELIVERY_WAIT_SECONDS``: an agent sends what it
    scraped a little later, and the receiver makes rows it accepted searchable up to a second or
    so after (VictoriaMetrics buffers new rows in memory first): a check made at once found the
    handler's last cold run missing now and then, though the receiver had answered 204."""
    shape = bench.shape
    give_up = time.monotonic() + DELIVERY_WAIT_SECONDS
    low, high = rounds[0] * shape.targets, rounds[1] * shape.targets
    while True:
        series, scrapes, points, lowest_up = bench.sink.delivered(sender, since, at)
        if (
            series == shape.samples
            and low <= scrapes <= high
            and points == scrapes * shape.series
            and lowest_up == 1
        ):
            return True, f"all {points:,} points of {scrapes:,} scrapes"
        if time.monotonic() > give_up:
            return False, (
                f"{series:,} series of {shape.samples:,}, {scrapes:,} scrapes (expected {low:,} to "
                f"{high:,}), {points:,} points (expected {scrapes * shape.series:,}), lowest up {lowest_up:g}"
            )
        time.sleep(1.0)


# -- the run ------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{model}, {os.cpu_count()} CPUs, {platform.machine()}; "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


BYTECODE_TREES = (ROOT / "functions" / "scrape_push", ROOT / "devtools")
"""The handler's code and its runner's, compiled before any run (``compiled_as_deployed``)."""


def compiled_as_deployed() -> str:
    """Write the bytecode of ``BYTECODE_TREES`` (into their ``__pycache__``, ignored by git), as
    ``sam build`` ships the function's (functions/scrape_push/Makefile compiles every module):
    a cold run then loads it as a new execution environment does. Without it, a shell that sets
    ``PYTHONDONTWRITEBYTECODE`` leaves every cold run compiling the package from source (one
    target's cold cycle: 20.1 µs a sample instead of 13.5, docs/performance.md). Returns the
    line the tables are headed with."""
    for tree in BYTECODE_TREES:
        if not compileall.compile_dir(tree, quiet=1):
            raise RuntimeError(f"cannot compile {tree}")
    return "bytecode: the function's modules compiled before the runs, as sam build ships them"


def binaries() -> dict[str, str | None]:
    """Each binary the benchmark uses, or ``None`` (said on stdout, with how to install it)."""
    roles = {
        "victoria-metrics": ("the receiver", "victoria-metrics"),
        "vmagent": ("its column is skipped", "victoria-metrics"),
        "prometheus": ("the Prometheus agent's column is skipped", "prometheus"),
    }
    found = {name: shutil.which(name) for name in roles}
    for name, path in found.items():
        if path is None:
            role, package = roles[name]
            print(f"end to end: {name} is missing ({role}): apt-get install {package}")
    return found


def run_shape(shape: Shape, found: dict[str, str | None], tmp: Path) -> list[Measured]:
    receiver_binary = found["victoria-metrics"]
    assert receiver_binary is not None
    with setting(shape, receiver_binary, tmp) as bench:
        results = [handler_warm(bench), handler_cold(bench)]
        for agent in (PROMETHEUS, VMAGENT):
            binary = found["prometheus" if agent is PROMETHEUS else "vmagent"]
            if binary is None:
                results.append(
                    Measured(agent.name, skipped=f"not installed (apt-get install {agent.package})")
                )
            else:
                results.append(run_agent(agent, binary, bench))
    return results


def print_table(shape: Shape, results: Sequence[Measured]) -> None:
    reference = next((r for r in results if r.sender == VMAGENT.name and counted(r)), None)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{shape.label}: {shape.samples:,} samples a scrape, agents every {shape.interval:g}s (load {load})"
    )
    print(
        f"  {'sender':<24}{'CPU/sample':>11}{'range':>16}{'samples/CPU-s':>15}{'x vmagent':>10}"
        f"{'peak RSS':>10}{'RSS/series':>11}  delivered"
    )
    for result in results:
        if result.skipped is not None:
            print(f"  {result.sender:<24}skipped: {result.skipped}")
            continue
        low, high = result.spread
        ratio = f"{reference.per_sample / result.per_sample:.2f}x" if reference and counted(result) else "-"
        print(
            f"  {result.sender:<24}{result.per_sample * 1e6:>8.2f} us{low * 1e6:>8.2f}-{high * 1e6:<6.2f}"
            f"{1 / result.per_sample:>14,.0f} {ratio:>9}{result.peak_rss / 2**20:>7.0f} MiB"
            f"{result.peak_rss / shape.samples:>9,.0f} B  {result.delivery}"
        )


def counted(result: Measured) -> bool:
    """Whether ``result``'s figures count: measured, and everything scraped was delivered."""
    return result.skipped is None and result.complete


def print_scaling(figures: dict[str, list[Measured]]) -> None:
    print("\n500 targets against one (CPU per sample):")
    for single, many in zip(figures["single"], figures["fleet"], strict=True):
        if counted(single) and counted(many):
            print(f"  {single.sender:<24}{many.per_sample / single.per_sample:.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append", help="default: both")
    parser.add_argument("--keep", type=Path, help="work in this new directory and keep it (logs, data)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    found = binaries()
    if found["victoria-metrics"] is None:
        print(f"end to end: skipped, every sender writes into VictoriaMetrics ({INSTALL})")
        return 0
    print(f"end to end: {machine()}")
    print(f"end to end: {compiled_as_deployed()}")
    figures: dict[str, list[Measured]] = {}
    with ExitStack() as stack:
        work = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-e2e-")))
        for name in args.shape or ["single", "fleet"]:
            shape = SHAPES[name]
            (work / name).mkdir(parents=True)
            figures[name] = run_shape(shape, found, work / name)
            print_table(shape, figures[name])
    if len(figures) == len(SHAPES):
        print_scaling(figures)
    if args.json is not None:
        args.json.write_text(
            json.dumps({name: [m.to_dict() for m in found] for name, found in figures.items()})
        )
    incomplete = [m.sender for found in figures.values() for m in found if not m.complete]
    if incomplete:
        print(f"\nINCOMPLETE delivery (figures not comparable): {', '.join(incomplete)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
