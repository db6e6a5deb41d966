"""Remote Write throughput and CPU cost, on a 100,000-series payload.

    make bench   (or: python bench/bench_remote_write.py)

Prints, as CPU time (best of a few runs):

* the parse stage's cold path on the payload's exposition text (the target to beat);
* encode + snappy-compress of the samples into WriteRequests of 500 samples: this sink's
  wire-format writer cold (labels encoded) and warm (labels found in the sink's memory, by
  series ref), and the same requests built with the protobuf library's generated classes, for
  comparison;
* end to end, in the same run: CPU-seconds per sample of the warm handler cycle (scrape ->
  parse -> encode -> send) and of the Prometheus agent (``prometheus --enable-feature=agent``,
  CPU read from /proc/<pid>/stat over a fixed number of scrapes), both scraping the same
  target into the same real Prometheus receiver. Skipped when ``prometheus`` is missing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT))

from scrape_push.config.source import parse_config
from scrape_push.cycle import gc_paused, run_cycle
from scrape_push.deadline import Deadline
from scrape_push.model import Sample, SeriesRef
from scrape_push.scrape import SeriesCache
from scrape_push.sinks.remote_write.convert import Encoding, batches, encode_batch, to_series
from scrape_push.sinks.remote_write.encode import LabelEncoder, SampleEncoder, compress

from devtools import processes

SERIES = 100_000
FAMILIES = 500
ROUNDS = 3
MAX_SAMPLES_PER_SEND = 2000
"""Both the handler and the Prometheus agent send requests of this size (the default of
scrape-push and of Prometheus since 2.44; Debian's 2.42 agent is configured to match)."""
AGENT_SCRAPES = 4
HANDLER_CYCLES = 4
SCRAPE_INTERVAL = 3


def exposition() -> bytes:
    """100,000 series in 500 gauge families, labelled like a busy service."""
    lines: list[str] = []
    per_family = SERIES // FAMILIES
    for f in range(FAMILIES):
        name = f"bench_metric_{f}"
        lines.append(f"# HELP {name} Benchmark family {f}.")
        lines.append(f"# TYPE {name} gauge")
        for i in range(per_family):
            lines.append(
                f'{name}{{code="{200 + i % 5}",host="host-{i // 5}",path="/api/v{i % 3}/items"}} {f * i}.5'
            )
    return ("\n".join(lines) + "\n").encode()


def best(run: object, rounds: int = ROUNDS) -> float:
    """Best CPU time of ``rounds`` runs, with the cyclic GC paused as in the handler's cycle."""
    fastest = float("inf")
    for _ in range(rounds):
        with gc_paused():
            start = time.process_time()
            run()  # type: ignore[operator]
            fastest = min(fastest, time.process_time() - start)
    return fastest


class Memory:
    """What a Remote Write sink keeps between cycles: its label encoder, its series' encodings."""

    def __init__(self) -> None:
        self.encoder = LabelEncoder()
        self.known: dict[SeriesRef, Encoding] = {}

    def encoding(self, sample: Sample) -> Encoding:
        return self.encoder.labels(sample.name, sample.labels)


def encode_all(samples: list[Sample], memory: Memory) -> int:
    converted = to_series(samples, memory.known, memory.encoding)
    encoder = SampleEncoder()
    size = 0
    for chain in batches(converted, MAX_SAMPLES_PER_SEND):
        for batch in chain:
            size += len(compress(encode_batch(batch, encoder)))
    return size


def encode_all_protobuf(samples: list[Sample], now_ms: int) -> int:
    """The same requests built as protobuf messages (grouping by series included)."""
    from devtools.remote_write_proto import remote_pb2

    size = 0
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.name, sample.labels), []).append(sample)
    series = list(groups.items())
    for start in range(0, len(series), MAX_SAMPLES_PER_SEND):
        request = remote_pb2.WriteRequest()
        for (name, labels), members in series[start : start + MAX_SAMPLES_PER_SEND]:
            ts = request.timeseries.add()
            for key, value in sorted((("__name__", name), *labels)):
                ts.labels.add(name=key, value=value)
            for member in members:
                ts.samples.add(value=member.value, timestamp=member.timestamp_ms or now_ms)
        size += len(compress(request.SerializeToString()))
    return size


def codec_figures(text: bytes) -> None:
    now_ms = int(time.time() * 1000)
    parse = best(lambda: SeriesCache().samples(text, None, now_ms))
    samples = SeriesCache().samples(text, None, now_ms)
    cold = best(lambda: encode_all(samples, Memory()))  # a new sink: nothing encoded before
    reference = best(lambda: encode_all_protobuf(samples, now_ms))
    memory = Memory()
    encode_all(samples, memory)  # the first scrape fills the sink's memory
    warm = best(lambda: encode_all(samples, memory))
    n = len(samples)
    print(f"remote_write codec: {n} series, {MAX_SAMPLES_PER_SEND} samples a request (CPU, best of {ROUNDS})")
    print(f"  parse stage, cold (target to beat):  {parse:.3f} s {n / parse:>12,.0f} samples/s")
    print(f"  encode+compress, cold:               {cold:.3f} s {n / cold:>12,.0f} samples/s")
    print(f"  encode+compress, warm (sink memory): {warm:.3f} s {n / warm:>12,.0f} samples/s")
    print(f"  protobuf library messages, cold:     {reference:.3f} s {n / reference:>12,.0f} samples/s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scrapes_served(log: Path) -> int:
    return log.read_text(errors="replace").count("GET /metrics")


def wait_for(condition: object, timeout: float) -> None:
    give_up = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > give_up:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.1)


def end_to_end(text: bytes, prometheus: str) -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        (tmp / "www").mkdir()
        (tmp / "www" / "metrics").write_bytes(text)
        target_port, receiver_port, agent_port = (processes.free_port() for _ in range(3))
        (tmp / "receiver.yml").write_text("global: {}\n")
        receiver_argv = [
            prometheus, "--web.enable-remote-write-receiver",
            f"--web.listen-address=127.0.0.1:{receiver_port}",
            f"--storage.tsdb.path={tmp / 'tsdb'}", f"--config.file={tmp / 'receiver.yml'}",
        ]  # fmt: skip
        target_argv = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                       str(tmp / "www"), str(target_port)]  # fmt: skip
        write_url = f"http://127.0.0.1:{receiver_port}/api/v1/write"
        target_log = tmp / "target.log"
        with (
            processes.running(receiver_argv, receiver_port, tmp / "receiver.log"),
            processes.running(target_argv, target_port, target_log),
        ):
            config = parse_config(
                "scrape_configs:\n  - job_name: bench\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{target_port}']\n"
                f"remote_write:\n  - url: {write_url}\n"
            ).config
            run_cycle(config, None, Deadline.after(60))  # cold: connections, imports
            start = time.process_time()
            samples = 0
            for _ in range(HANDLER_CYCLES):
                result = run_cycle(config, None, Deadline.after(60))
                report = result.sinks[0]
                assert report.ok and report.sent == report.offered, report.to_dict()
                samples += report.sent
            handler = (time.process_time() - start) / samples

            (tmp / "agent.yml").write_text(
                f"global:\n  scrape_interval: {SCRAPE_INTERVAL}s\n  scrape_timeout: {SCRAPE_INTERVAL}s\n"
                f"scrape_configs:\n  - job_name: bench\n    static_configs:\n"
                f"      - targets: ['127.0.0.1:{target_port}']\n"
                f"remote_write:\n  - url: {write_url}\n"
                f"    queue_config: {{max_samples_per_send: {MAX_SAMPLES_PER_SEND}}}\n"
            )
            agent_argv = [
                prometheus, "--enable-feature=agent", f"--config.file={tmp / 'agent.yml'}",
                f"--storage.agent.path={tmp / 'agent'}", f"--web.listen-address=127.0.0.1:{agent_port}",
            ]  # fmt: skip
            with processes.running(agent_argv, agent_port, tmp / "agent.log") as agent:
                before = scrapes_served(target_log)
                wait_for(lambda: scrapes_served(target_log) >= before + 2, 60)  # warmed up
                first = scrapes_served(target_log)
                cpu_start = cpu_seconds(agent.pid)
                wait_for(lambda: scrapes_served(target_log) >= first + AGENT_SCRAPES, 120)
                time.sleep(SCRAPE_INTERVAL / 2)  # let the last scrape's samples be sent
                agent_cpu = (cpu_seconds(agent.pid) - cpu_start) / (AGENT_SCRAPES * report.offered)
    print(f"end to end, {report.offered} samples per scrape into a real Prometheus receiver (CPU per sample)")
    for label, cost in (
        (f"warm handler cycle ({HANDLER_CYCLES} cycles):", handler),
        (f"prometheus agent ({AGENT_SCRAPES} scrapes):", agent_cpu),
    ):
        print(f"  {label:<34}{cost * 1e6:8.2f} us  {1 / cost:>10,.0f} samples/CPU-s")


def main() -> None:
    text = exposition()
    codec_figures(text)
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        print("end to end: skipped (prometheus is not installed; Debian package prometheus)")
        return
    end_to_end(text, prometheus)


if __name__ == "__main__":
    main()
