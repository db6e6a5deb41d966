"""The Remote Write sink: Prometheus Remote Write 1.0 with metadata, to any receiver.

Per invocation: group the samples by series and encode them (``convert``/``encode``, pure),
pack them into batches of at most ``max_samples_per_send``, and send the batches concurrently
(``transport``), keeping each series' samples in order; metric metadata goes in requests of its
own, as Prometheus sends it. Secrets are resolved (inline or from SSM) at each push, so a
rotated password is picked up once the parameter cache expires.

What a series becomes for this sink -- ``write_relabel_configs`` applied, its labels encoded, or
why it is not sent -- is worked out once and kept by ``SeriesRef`` until the scrape stage says
the series is gone (``forget``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from operator import attrgetter

import requests

from ... import credentials
from ...deadline import Deadline
from ...httpconfig import KeptContext, request_auth
from ...labels import relabel_series
from ...model import Labels, Sample, SeriesRef
from ...names import ALLOW_UTF8, escape_name, is_legacy
from ...plugins import BuildContext
from ...relabel import compile_rules
from ...scrapehttp.posts import Poster
from ...sigv4 import SigV4Error, sigv4_auth
from ..base import NATIVE_HISTOGRAM, Prepared, Request, Result, SeriesMemory, SinkReport, histograms_apart
from .config import RemoteWriteConfig
from .convert import Batch, Encoding, batches, chunks, encode_batch, metadata, to_series
from .encode import LABEL_MEMO_SIZE, LabelEncoder, SampleEncoder, compress, series_head, write_request
from .histograms import HistogramPoint, encode_histograms, histogram_points
from .limits import AMP_SERVICE, DEFAULT_MAX_AGE, MAX_ERROR_BODY_BYTES
from .transport import Sender


class RemoteWriteSink:
    """Pushes samples to one Remote Write receiver."""

    kind = "remote_write"
    default_max_age = DEFAULT_MAX_AGE

    def __init__(
        self,
        config: RemoteWriteConfig,
        context: BuildContext,
        *,
        poster: Poster | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.name = f"remote_write/{config.display_name}"
        self.write_relabel = compile_rules(config.write_relabel_configs)
        self.name_escaping = name_escaping = context.name_escaping
        """UTF-8 names are sent as they are with ``allow-utf-8`` (as Prometheus 3.x sends them),
        else escaped by this scheme (for a receiver that validates legacy names)."""
        self.encoder = LabelEncoder(utf8_names=name_escaping == ALLOW_UTF8)
        self._legacy_names: dict[str, bool] = {}
        self._legacy_labels: dict[str, bool] = {}
        """Whether each metric (label) name seen recently is legacy-valid, at most
        ``LABEL_MEMO_SIZE`` of each."""
        self.series: SeriesMemory[Encoding] = SeriesMemory()
        """Per series: its labels as this sink sends them, encoded in a ``series_head``, or why
        it does not send it (``write_relabel`` when ``write_relabel_configs`` drop it)."""
        self._distinct_heads: list[bytes] = []
        """The series heads of the last cycle that sent one sample a series, all distinct
        (``to_series``): held until the next cycle, 8 bytes a series."""
        self.max_concurrency = context.max_concurrent_requests
        self.secrets = context.secrets
        self.clients = context.aws
        self._poster = poster
        """The sink's keep-alive connections to its receiver (``scrapehttp.posts``; they survive
        warm invocations), made on first use unless given."""
        self._owns_poster = poster is None
        self._poster_lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng

    def auth(self) -> requests.auth.AuthBase | None:
        """The request authentication configured, with secrets resolved."""
        config = self.config
        if config.sigv4 is not None:
            return sigv4_auth(config.sigv4, self.clients, AMP_SERVICE)
        return request_auth(config.basic_auth, config.authorization, self.secrets)

    def poster(self) -> Poster:
        """The receiver's connections. Like Prometheus it takes no proxy or credentials from the
        environment; over TLS, the ``tls_config``'s context (its key, when read from SSM, read
        again as the parameter cache expires)."""
        with self._poster_lock:
            if self._poster is None:
                tls = self.config.tls_config
                self._poster = Poster(
                    1,
                    self.max_concurrency,
                    error_limit=MAX_ERROR_BODY_BYTES,
                    tls=KeptContext(tls, self.secrets).get,
                    server_name=tls.server_name,
                )
            return self._poster

    def sender(self) -> Sender:
        return Sender(self.config, self.auth(), poster=self.poster(), sleep=self._sleep, rng=self._rng)

    def close(self) -> None:
        """Close the connections this sink opened."""
        with self._poster_lock:
            if self._owns_poster and self._poster is not None:
                self._poster.close()
                self._poster = None

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        self.series.forget(refs)

    def encoding(self, sample: Sample) -> Encoding:
        """What ``sample``'s series is for this sink: ``write_relabel_configs`` applied (to
        which ``__name__`` is a label), then its labels encoded, as a ``series_head``."""
        name, labels = sample.name, sample.labels
        if self.write_relabel.steps:
            relabeled = relabel_series(name, labels, self.write_relabel)
            if relabeled is None:
                return "write_relabel"
            name, labels = relabeled
        if self.name_escaping != ALLOW_UTF8 and not self._legacy(name, labels):
            name, labels = self._escaped(name, labels)
        encoded = self.encoder.labels(name, labels)
        return series_head(encoded) if type(encoded) is bytes else encoded

    def encodings(self, samples: Sequence[Sample]) -> list[Encoding]:
        """``encoding`` of each sample's series: in bulk (``LabelEncoder.heads``) where names are
        sent as they are and no ``write_relabel_configs`` apply, as a cold cycle's series are;
        with names escaped, the wire kernel's heads of the series whose names are all legacy
        (``LabelEncoder.compiled``: it refuses the others, which ``encoding`` escapes)."""
        if self.write_relabel.steps:
            return list(map(self.encoding, samples))
        names, label_sets = list(map(_NAME, samples)), list(map(_LABELS, samples))
        if self.name_escaping == ALLOW_UTF8:
            return self.encoder.heads(names, label_sets)
        made = self.encoder.compiled(names, label_sets)
        if made is None:
            return list(map(self.encoding, samples))
        return [
            self.encoding(sample) if head is None else head
            for sample, head in zip(samples, made, strict=True)
        ]

    def _legacy(self, name: str, labels: Labels) -> bool:
        """Whether a series' name and label names are all legacy-valid: a verdict kept per name
        (names repeat across series, and a new series is otherwise a regex match per name)."""
        verdicts = self._legacy_names
        verdict = verdicts.get(name)
        if verdict is None:
            verdict = _kept(verdicts, name, is_legacy(name))
        if not verdict:
            return False
        verdicts = self._legacy_labels
        for label, _ in labels:
            verdict = verdicts.get(label)
            if verdict is None:
                verdict = _kept(verdicts, label, is_legacy(label, label=True))
            if not verdict:
                return False
        return True

    def _escaped(self, name: str, labels: Labels) -> tuple[str, Labels]:
        """A series' name and label names escaped by ``name_escaping``, labels sorted again."""
        scheme = self.name_escaping
        pairs = sorted((escape_name(label, scheme, label=True), value) for label, value in labels)
        return escape_name(name, scheme), tuple(pairs)

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        """One request per batch (chains keep a series' samples in order), then the metadata.
        Bodies are encoded when first needed, on the sending threads."""
        self.series.bound(len(samples))
        samples, histograms = histograms_apart(samples)
        converted = to_series(samples, self.series.entries, self.encodings, self._distinct_heads)
        self._distinct_heads = [] if converted.columns is None else converted.columns.heads
        report.dropped.update(converted.dropped)
        encoder = SampleEncoder()
        max_samples = self.config.queue_config.max_samples_per_send
        requests = [
            Request(batch.samples, make=partial(_encoded, batch, encoder), chain=number)
            for number, chain in enumerate(batches(converted, max_samples))
            for batch in chain
        ]
        if histograms and not self.config.send_native_histograms:
            report.drop(NATIVE_HISTOGRAM, len(histograms))
        elif histograms:  # their series are not the float samples': chains of their own
            points, dropped = histogram_points(histograms, self.series.entries, self.encoding)
            report.dropped.update(dropped)
            requests += [
                Request(len(part), make=partial(_histograms_request, part), chain=len(requests) + index)
                for index, part in enumerate(chunks(points, max_samples))
            ]
        if self.config.metadata_config.send:
            for entries in chunks(
                metadata(converted.families), self.config.metadata_config.max_samples_per_send
            ):
                requests.append(Request(0, make=partial(_metadata_request, entries), chain=-1, durable=False))
        return Prepared(requests)

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        return Request(samples, body=body, chain=chain)

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        """Chains run concurrently, each in order; once a request fails (the receiver is down
        or the deadline came), requests not yet started are skipped."""
        try:
            sender = self.sender()
        except (credentials.SecretError, SigV4Error) as exc:
            return [Result("failed", f"not sent: {exc}")] * len(requests)
        results: list[Result] = [Result("skipped", "not sent: an earlier request failed")] * len(requests)
        down = threading.Event()

        def run(chain: list[int]) -> None:
            for index in chain:
                if down.is_set():
                    return
                request = requests[index]
                outcome = sender.send(request.body(), deadline, "batch" if request.durable else "metadata")
                results[index] = Result(outcome.status, outcome.error)
                if outcome.status == "sent":
                    request.delivered()
                if outcome.status == "failed":
                    down.set()
                    return

        groups: dict[int, list[int]] = {}
        for index, request in enumerate(requests):
            key = request.chain if request.durable else -1 - index  # metadata requests are independent
            groups.setdefault(key, []).append(index)
        chains = list(groups.values())
        if chains:
            workers = min(self.max_concurrency, len(chains))
            with ThreadPoolExecutor(workers, thread_name_prefix="remote-write") as pool:
                list(pool.map(run, chains))
        return results


_NAME = attrgetter("name")
_LABELS = attrgetter("labels")


def _kept(verdicts: dict[str, bool], name: str, verdict: bool) -> bool:
    """``verdict``, kept for ``name`` in a memory bounded by ``LABEL_MEMO_SIZE``."""
    if len(verdicts) >= LABEL_MEMO_SIZE:
        verdicts.clear()
    verdicts[name] = verdict
    return verdict


def _encoded(batch: Batch, encoder: SampleEncoder) -> bytes:
    return compress(encode_batch(batch, encoder))


def _histograms_request(points: Sequence[HistogramPoint]) -> bytes:
    return compress(encode_histograms(points))


def _metadata_request(entries: Sequence[bytes]) -> bytes:
    return compress(write_request(entries))
