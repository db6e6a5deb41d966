"""The Remote Write sink: Prometheus Remote Write 1.0 with metadata, to any receiver.

Per invocation: group the samples by series and encode them (``convert``/``encode``, pure),
pack them into batches of at most ``max_samples_per_send``, and send the batches concurrently
(``transport``), keeping each series' samples in order; metric metadata goes in requests of its
own, as Prometheus sends it. Secrets are resolved (inline or from SSM) at each push, so a
rotated password is picked up once the parameter cache expires.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from ... import secrets
from ...deadline import Deadline
from ...httpconfig import TLSConfig, new_session, request_auth
from ...labels import relabeled_view
from ...model import Sample
from ...relabel import compile_rules
from ..base import SinkReport
from .config import RemoteWriteConfig
from .convert import Batch, batches, chunks, encode_batch, metadata, to_series
from .encode import SampleEncoder, compress, write_request
from .sigv4 import SigV4Error, sigv4_auth
from .transport import Outcome, Sender

_sessions: dict[tuple[str, TLSConfig, int], requests.Session] = {}
_sessions_lock = threading.Lock()


def pooled_session(config: RemoteWriteConfig, pool_size: int) -> requests.Session:
    """A session per receiver whose connections survive warm invocations. Like Prometheus it
    takes no proxy or credentials from the environment (which also spares requests a scan of
    the environment on every request)."""
    key = (config.url, config.tls_config, pool_size)
    with _sessions_lock:
        found = _sessions.get(key)
        if found is None:
            found = _sessions[key] = new_session(config.tls_config, pool_size)
        return found


def reset() -> None:
    """Close and forget pooled sessions (tests)."""
    with _sessions_lock:
        for session in _sessions.values():
            session.close()
        _sessions.clear()


class RemoteWriteSink:
    """Pushes samples to one Remote Write receiver."""

    kind = "remote_write"

    def __init__(
        self,
        config: RemoteWriteConfig,
        max_concurrency: int = 4,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.name = f"remote_write/{config.display_name}"
        self.write_relabel = compile_rules(config.write_relabel_configs)
        self.write_relabel_key = hashlib.sha256(repr(config.write_relabel_configs).encode()).hexdigest()[:16]
        self.max_concurrency = max_concurrency
        self._session = session
        self._sleep = sleep
        self._rng = rng

    def auth(self) -> requests.auth.AuthBase | None:
        """The request authentication configured, with secrets resolved."""
        config = self.config
        if config.sigv4 is not None:
            return sigv4_auth(config.sigv4)
        return request_auth(config.basic_auth, config.authorization)

    def sender(self) -> Sender:
        session = self._session or pooled_session(self.config, self.max_concurrency)
        return Sender(self.config, self.auth(), session=session, sleep=self._sleep, rng=self._rng)

    def push(self, samples: Sequence[Sample], deadline: Deadline) -> SinkReport:
        report = SinkReport(self.name, self.kind, offered=len(samples))
        try:
            sender = self.sender()
        except (secrets.SecretError, SigV4Error) as exc:
            report.failed = len(samples)
            report.error(f"not sent: {exc}")
            return report
        samples, relabel_dropped = relabeled_view(
            samples, self.write_relabel, f"write:{self.write_relabel_key}"
        )
        if relabel_dropped:
            report.drop("write_relabel", relabel_dropped)
        converted = to_series(samples, int(time.time() * 1000))
        report.dropped.update(converted.dropped)
        chains = batches(converted, self.config.queue_config.max_samples_per_send)
        meta = metadata(converted.families) if self.config.metadata_config.send else []
        meta_batches = chunks(meta, self.config.metadata_config.max_samples_per_send)
        encoder = SampleEncoder()

        def send_chain(chain: list[Batch]) -> list[tuple[int, Outcome]]:
            return [
                (
                    batch.samples,
                    sender.send(compress(encode_batch(batch, encoder)), deadline, "batch"),
                )
                for batch in chain
            ]

        def send_metadata(entries: Sequence[bytes]) -> Outcome:
            return sender.send(compress(write_request(entries)), deadline, "metadata")

        tasks = len(chains) + len(meta_batches)
        if not tasks:
            return report
        with ThreadPoolExecutor(min(self.max_concurrency, tasks), thread_name_prefix="remote-write") as pool:
            meta_futures = [pool.submit(send_metadata, entries) for entries in meta_batches]
            chain_results = list(pool.map(send_chain, chains))
            meta_outcomes = [f.result() for f in meta_futures]
        for count, outcome in (pair for results in chain_results for pair in results):
            _account(report, count, outcome)
        for outcome in meta_outcomes:
            report.requests += 1
            if outcome.status != "sent":
                report.failed_requests += 1
                report.warn(f"metadata {outcome.error}" if outcome.status == "failed" else str(outcome.error))
        return report


def _account(report: SinkReport, samples: int, outcome: Outcome) -> None:
    report.requests += 1
    if outcome.status == "sent":
        report.sent += samples
        return
    report.failed_requests += 1
    if outcome.status == "rejected":
        report.rejected += samples
        report.error(f"{outcome.error} ({samples} samples rejected, not retried)")
    else:
        report.failed += samples
        report.error(f"{samples} samples {outcome.error}")
