"""Memory a parse keeps, per sample and per series, against the memory budget's estimate.

    make bench   (or: python bench/bench_parse_memory.py)

For node_exporter-like bodies (the captured node_exporter output, its series repeated per
device as on a large host; the parse benchmark's payload; OpenMetrics with timestamps and
exemplars) and hostile ones (many tiny labels, long values), measures with tracemalloc what a
cold parse (empty series cache) and a warm one (cache filled, new values) leave allocated,
samples held: per sample when warm, per new series when cold (the difference). Then compares
with ``ScrapeBudget``'s estimate from ``limits.SAMPLE_BYTES`` and the other constants, which
must not be below what was measured (docs/scaling.md).
"""

from __future__ import annotations

import gc
import re
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_parse import TARGET, machine, payload
from scrape_push.labels import finisher
from scrape_push.limits import ScrapeBudget
from scrape_push.scrape import SeriesCache

FIXTURES = ROOT / "tests" / "fixtures" / "exposition"
TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"
DEVICES = 200
_SAMPLE = re.compile(r"([^{ ]+)(?:\{(.*)\})? (.*)")


def per_device(exposition: str, devices: int, value: Callable[[str, str, int], str]) -> str:
    """Every sample line of ``exposition`` once per device (a ``slot`` label added), under
    its family's comment lines, as a large host's exporter serves them."""
    out = []
    for line in exposition.splitlines():
        match = _SAMPLE.fullmatch(line)
        if line.startswith("#") or match is None:
            out.append(line)
            continue
        name, labels, rest = match.groups()
        for device in range(devices):
            pairs = f'{labels},slot="{device}"' if labels else f'slot="{device}"'
            out.append(f"{name}{{{pairs}}} {value(name, rest, device)}")
    return "\n".join(out) + "\n"


def node_like(seed: int) -> bytes:
    text = (FIXTURES / "node_exporter.text.txt").read_text()
    return per_device(
        text, DEVICES, lambda _, rest, device: f"{rest}{seed}" if rest[:1].isdigit() else rest
    ).encode()


def openmetrics_like(seed: int) -> bytes:
    text = (FIXTURES / "prometheus_client.openmetrics.txt").read_text().removesuffix("# EOF\n")

    def value(name: str, rest: str, device: int) -> str:
        number = rest.split(" ", 1)[0]
        stamped = f"{number} 1795959059.{device:03d}{seed}"
        if not name.endswith(("_total", "_bucket")):  # OpenMetrics: exemplars on these only
            return stamped
        return f'{stamped} # {{trace_id="t{device}x{seed}"}} 0.5 1795959059.5'

    return (per_device(text, 500, value) + "# EOF\n").encode()


def tiny_labels(seed: int) -> bytes:
    return "".join(
        "t{" + ",".join(f'{chr(65 + k)}="{i % 10}"' for k in range(20)) + f',i="{i}"}} {seed}\n'
        for i in range(5000)
    ).encode()


def long_values(seed: int) -> bytes:
    return "".join(f'v{{path="{"/segment" * 64}/{i}"}} {seed}\n' for i in range(5000)).encode()


BODIES: dict[str, tuple[Callable[[int], bytes], str]] = {
    f"node_exporter x{DEVICES} devices": (node_like, TEXT),
    "parse benchmark payload": (payload, TEXT),
    "OpenMetrics, timestamps, exemplars": (openmetrics_like, OM),
    "hostile: 21 one-character labels": (tiny_labels, TEXT),
    "hostile: 520-character values": (long_values, TEXT),
}


def kept(parse: Callable[[], object]) -> int:
    """Bytes left allocated by ``parse()`` while its result is held."""
    gc.collect()
    tracemalloc.start()
    result = parse()
    gc.collect()  # empties the free lists (of tuples ...), whose blocks count as traced
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return current


def measure(make: Callable[[int], bytes], content_type: str) -> tuple[int, int, int, int, int, int]:
    """(samples, new series, bytes kept cold, bytes kept warm, and the two estimates)."""
    first, second = make(1), make(2)
    cache = SeriesCache(finisher(TARGET))
    cold_budget, warm_budget = ScrapeBudget(), ScrapeBudget()
    cold = kept(
        lambda: [s for chunk in cache.read(first, content_type, 1, budget=cold_budget) for s in chunk]
    )
    series = cache.added
    warm = kept(
        lambda: [s for chunk in cache.read(second, content_type, 2, budget=warm_budget) for s in chunk]
    )
    return cold_budget.parsed, series, cold, warm, cold_budget.kept_bytes, warm_budget.kept_bytes


def main() -> None:
    print(f"machine: {machine()}")
    print(
        f"{'body':38} {'samples':>8} {'per sample warm':>15} {'per series cold':>15}"
        f" {'estimate / kept: warm':>22} {'cold':>5}"
    )
    for name, (make, content_type) in BODIES.items():
        samples, series, cold, warm, cold_estimate, warm_estimate = measure(make, content_type)
        print(
            f"{name:38} {samples:8,} {warm / samples:13.0f} B {(cold - warm) / series:13.0f} B "
            f"{warm_estimate / warm:21.2f}x {cold_estimate / cold:4.2f}x"
        )


if __name__ == "__main__":
    main()
