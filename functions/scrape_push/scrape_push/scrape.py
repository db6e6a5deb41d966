"""The scrape stage: fetch each target's exposition concurrently, parse it, label it.

A target that is down, slow, too large or serves garbage yields ``up 0`` with the reason;
it never affects another target. Nothing here waits past the invocation's deadline.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import requests
import urllib3.exceptions

from . import __version__, limits
from .deadline import Deadline
from .httpconfig import TLSConfig, new_session, request_auth, root_cause, tls_arguments
from .labels import finisher, relabeled_view, stamp, synthetic
from .model import Sample
from .parse import ParseError, SeriesCache, parse_exposition
from .secrets import SecretError
from .targets import Target

ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
"""The Accept header Prometheus sends: OpenMetrics first, then text 0.0.4."""

USER_AGENT = f"scrape-push/{__version__}"
# tls_config.insecure_skip_verify is the user's explicit choice (as in Prometheus); urllib3
# would otherwise print a warning to the function's log on every such scrape.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
READ_CHUNK_BYTES = 64 * 1024
MAX_CACHED_TARGETS = 1024
"""Targets whose series cache a warm Lambda keeps (least recently scraped dropped first)."""


class ScrapeError(Exception):
    """The target could not be scraped; the message says why, without secrets."""


@dataclass
class ScrapeResult:
    """What one target gave in one cycle: its samples (final labels and timestamps) or an error."""

    target: Target
    up: bool
    duration: float
    scraped: int
    """How many samples the exposition held (``scrape_samples_scraped``)."""
    error: str | None
    samples: list[Sample] = field(default_factory=list)
    """The exposition's samples followed by the synthetic ``up``/``scrape_*`` series."""


class Scraper:
    """Scrapes targets over a pooled HTTP session that survives warm invocations."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._sessions: dict[TLSConfig, requests.Session] = {}
        self._sessions_lock = threading.Lock()
        self._series: OrderedDict[tuple[object, ...], SeriesCache] = OrderedDict()
        self._series_lock = threading.Lock()

    def session_for(self, tls: TLSConfig) -> requests.Session:
        """A pooled session per distinct TLS setting (most jobs share the default one)."""
        with self._sessions_lock:
            found = self._sessions.get(tls)
            if found is None:
                found = self._sessions[tls] = new_session(tls, self.max_concurrency)
            return found

    def series_cache(self, target: Target) -> SeriesCache:
        """The target's series cache, kept across warm invocations; a target whose labels
        changed gets a fresh one (its cached entries hold final labels)."""
        key = (
            target.url,
            target.labels,
            target.external_labels,
            target.honor_labels,
            target.metric_relabel_key,
        )
        with self._series_lock:
            cache = self._series.get(key)
            if cache is None:
                cache = self._series[key] = SeriesCache(finisher(target))
                while len(self._series) > MAX_CACHED_TARGETS:
                    self._series.popitem(last=False)
            else:
                self._series.move_to_end(key)
            return cache

    def scrape_all(self, targets: Sequence[Target], deadline: Deadline) -> list[ScrapeResult]:
        """Scrape every target concurrently; results come back in the targets' order."""
        if not targets:
            return []
        pool = ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, len(targets)), thread_name_prefix="scrape"
        )
        try:
            futures = [pool.submit(self.scrape, t, deadline) for t in targets]
            wait(futures, timeout=deadline.remaining(), return_when=FIRST_EXCEPTION)
            return [self._result(f, t) for f, t in zip(futures, targets, strict=True)]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _result(future: Future[ScrapeResult], target: Target) -> ScrapeResult:
        if future.done() and not future.cancelled():
            error = future.exception()
            if error is None:
                return future.result()
            return failed(target, 0.0, int(time.time() * 1000), f"internal error: {error!r}")
        return failed(
            target,
            target.timeout,
            int(time.time() * 1000),
            "invocation deadline reached before the scrape finished",
        )

    def scrape(self, target: Target, deadline: Deadline) -> ScrapeResult:
        """Scrape one target; never raises for the target's own faults."""
        scrape_ms = int(time.time() * 1000)
        start = time.monotonic()
        cache = self.series_cache(target)
        try:
            body, content_type = self.fetch(target, deadline)
            samples = parse_exposition(body, content_type, cache)
        except ScrapeError as exc:
            return failed(target, time.monotonic() - start, scrape_ms, str(exc), scratch=cache.synthetic)
        except ParseError as exc:
            return failed(
                target,
                time.monotonic() - start,
                scrape_ms,
                f"invalid exposition: {exc}",
                scratch=cache.synthetic,
            )
        duration = time.monotonic() - start
        scraped = len(samples)
        samples, _ = relabeled_view(samples, target.metric_relabel, f"metric:{target.metric_relabel_key}")
        stamp(samples, target, scrape_ms)
        try:
            limits.check(samples, target.limits)
        except limits.LimitExceeded as exc:
            return failed(target, duration, scrape_ms, str(exc), scraped=scraped, scratch=cache.synthetic)
        samples.extend(
            synthetic(
                target,
                up=True,
                duration=duration,
                scraped=scraped,
                kept=len(samples),
                added=cache.added,
                scrape_ms=scrape_ms,
                scratch=cache.synthetic,
            )
        )
        return ScrapeResult(target, True, duration, scraped, None, samples)

    def fetch(self, target: Target, deadline: Deadline) -> tuple[bytes, str | None]:
        """GET the target's URL within its timeout and body-size limit."""
        timeout = deadline.bound(target.timeout)
        if timeout <= 0:
            raise ScrapeError("no time left in the invocation to scrape")
        give_up = time.monotonic() + timeout
        headers = {
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip",
            "User-Agent": USER_AGENT,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}",
        }
        try:
            http = target.http
            proxies = {"http": http.proxy_url, "https": http.proxy_url} if http.proxy_url else None
            verify, cert = tls_arguments(http.tls_config)
            with self.session_for(http.tls_config).get(
                target.url,
                headers=headers,
                timeout=(timeout, timeout),
                stream=True,
                allow_redirects=http.follow_redirects,
                proxies=proxies,
                auth=request_auth(http.basic_auth, http.authorization),
                verify=verify,
                cert=cert,
            ) as response:
                if response.status_code != 200:
                    raise ScrapeError(f"server returned HTTP status {response.status_code} {response.reason}")
                body = _read_capped(response, target.body_size_limit, give_up, timeout)
                return body, response.headers.get("Content-Type")
        except (requests.Timeout, urllib3.exceptions.ReadTimeoutError):
            raise ScrapeError(f"timed out after {timeout:g}s") from None
        except requests.exceptions.SSLError as exc:
            raise ScrapeError(f"TLS handshake failed: {root_cause(exc)}") from None
        except requests.ConnectionError as exc:
            raise ScrapeError(f"connection failed: {root_cause(exc)}") from None
        except SecretError as exc:
            raise ScrapeError(str(exc)) from None
        except urllib3.exceptions.DecodeError:
            raise ScrapeError("response body could not be decompressed") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise ScrapeError(f"request failed: {root_cause(exc)}") from None


def _read_capped(response: requests.Response, limit: int, give_up: float, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.raw.stream(READ_CHUNK_BYTES, decode_content=True):
        size += len(chunk)
        if size > limit:
            raise ScrapeError(f"body size limit of {limit} bytes exceeded")
        if time.monotonic() > give_up:
            raise ScrapeError(f"timed out after {timeout:g}s")
        chunks.append(chunk)
    return b"".join(chunks)


def failed(
    target: Target,
    duration: float,
    scrape_ms: int,
    error: str,
    *,
    scraped: int = 0,
    scratch: dict[str, dict[str, object]] | None = None,
) -> ScrapeResult:
    """The result of a failed scrape: only the synthetic series, with ``up 0``."""
    series = synthetic(
        target,
        up=False,
        duration=duration,
        scraped=scraped,
        kept=0,
        added=0,
        scrape_ms=scrape_ms,
        scratch=scratch,
    )
    return ScrapeResult(target, False, duration, scraped, error, series)
