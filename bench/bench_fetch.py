"""One scrape's HTTP GET, warm: the CPU and the Python calls of a GET through scrape-push's fetch
path (on its own transport, and through requests as a target with a proxy, OAuth 2.0 or SigV4
goes), against bare requests and bare urllib3 (the floor of the transport) on the same kept
connection to the same local target (devtools/target_fleet.py: one node_exporter-shaped target of
1,000 series, gzipped, the fleet benchmark's shape).

Each GET reads and decompresses the whole body. CPU is the calling thread's (``thread_time``),
the best of a few repeats (the machine is shared); Python calls per GET are counted exactly
(``sys.setprofile``), so they compare across runs whatever the load.

    .venv/bin/python bench/bench_fetch.py [--gets 500] [--series 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "functions" / "scrape_push"))

import requests
import urllib3
from scrape_push.aws import AwsClients
from scrape_push.budget import MemoryBudget
from scrape_push.credentials import Scrubber, SecretResolver
from scrape_push.fetch import fetch
from scrape_push.guard import Guard, guarding
from scrape_push.httpconfig import ClientAuth, HTTPClientConfig
from scrape_push.negotiation import DEFAULT_NEGOTIATION
from scrape_push.plugins import BuildContext
from scrape_push.reach import Reach
from scrape_push.scrape import Scraper
from scrape_push.settings import Settings
from scrape_push.targets import DEFAULT_BODY_SIZE_LIMIT, Target

from devtools import target_fleet

TIMEOUT_SECONDS = 10.0
WARMUP_GETS = 50
REPEATS = 5
COUNTED_GETS = 50
GZIP_WBITS = 16 + zlib.MAX_WBITS


def scrape_push_get(url: str, *, through_requests: bool = False) -> Callable[[], bytes]:
    """A GET as the scrape stage makes it: the job's ``ClientAuth``, a guard, a memory account;
    on the scrape stage's own transport (``scrapehttp``), or through requests as a target that
    needs requests goes."""
    clients = AwsClients()
    secrets = SecretResolver(clients, Scrubber(), max_age=0)
    context = BuildContext(1, clients, secrets, Settings.from_environment())
    target = Target(
        job="bench",
        url=url,
        labels=(("instance", url.split("/")[2]), ("job", "bench")),
        external_labels=(),
        timeout=TIMEOUT_SECONDS,
        interval=60.0,
        honor_labels=False,
        honor_timestamps=True,
        body_size_limit=DEFAULT_BODY_SIZE_LIMIT,
        auth=ClientAuth(HTTPClientConfig(), context),
    )
    scraper = Scraper(1, secrets)
    session = scraper.session_for(target.http.tls_config)
    transport = None if through_requests else scraper.transport
    budget = MemoryBudget.plan(None, 1, 1)

    def get() -> bytes:
        guard = Guard(time.monotonic() + TIMEOUT_SECONDS, Reach(url), proxied=False)
        account = budget.scrape_account()
        try:
            with guarding(guard):
                return fetch(
                    session,
                    target,
                    guard,
                    account,
                    timeout=TIMEOUT_SECONDS,
                    secrets=secrets,
                    transport=transport,
                ).body
        finally:
            account.release()

    return get


def requests_get(url: str) -> Callable[[], bytes]:
    session = requests.Session()
    headers = DEFAULT_NEGOTIATION.headers

    def get() -> bytes:
        with session.get(url, headers=headers, stream=True, timeout=TIMEOUT_SECONDS) as response:
            return zlib.decompress(response.raw.read(decode_content=False), GZIP_WBITS)

    return get


def urllib3_get(url: str) -> Callable[[], bytes]:
    pool = urllib3.PoolManager(maxsize=1)
    headers = DEFAULT_NEGOTIATION.headers
    timeout = urllib3.Timeout(TIMEOUT_SECONDS, TIMEOUT_SECONDS)

    def get() -> bytes:
        response = pool.urlopen(
            "GET",
            url,
            headers=headers,
            preload_content=False,
            decode_content=False,
            retries=False,
            timeout=timeout,
        )
        try:
            return zlib.decompress(response.read(), GZIP_WBITS)
        finally:
            response.release_conn()

    return get


def cpu_per_get(get: Callable[[], bytes], gets: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.thread_time()
        for _ in range(gets):
            get()
        best = min(best, (time.thread_time() - start) / gets)
    return best


def calls_per_get(get: Callable[[], bytes]) -> float:
    calls = 0

    def count(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        for _ in range(COUNTED_GETS):
            get()
    finally:
        sys.setprofile(None)
    return calls / COUNTED_GETS


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gets", type=int, default=500, help="GETs per repeat")
    parser.add_argument("--series", type=int, default=1000, help="series of the target")
    args = parser.parse_args()
    paths = {
        "scrape-push fetch": scrape_push_get,
        "scrape-push fetch, through requests": partial(scrape_push_get, through_requests=True),
        "requests Session.get": requests_get,
        "urllib3 pool": urllib3_get,
    }
    with tempfile.TemporaryDirectory() as tmp, target_fleet.running(Path(tmp), 1, args.series) as fleet:
        url = f"http://{fleet.addresses[0]}/metrics"
        rows = []
        for name, make in paths.items():
            get = make(url)
            for _ in range(WARMUP_GETS):
                size = len(get())
            rows.append((name, cpu_per_get(get, args.gets), calls_per_get(get), size))
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} CPUs; CPython {platform.python_version()}")
    body = f"{args.series:,} series, {rows[0][3]:,} bytes decompressed"
    print(f"one warm GET of {body}; CPU: best of {REPEATS} x {args.gets}\n")
    print("| path | CPU µs per GET | Python calls per GET |\n|---|---:|---:|")
    for name, cpu, calls, _ in rows:
        print(f"| {name} | {cpu * 1e6:.0f} | {calls:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
