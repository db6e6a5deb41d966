"""The OTLP sink: translate (``translate``, pure), settle start times (``starts``, the state
step), pack and encode (``pack``), send (``transport``)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import requests

from ... import credentials
from ...deadline import Deadline
from ...httpconfig import new_session, request_auth
from ...model import Sample, SeriesRef
from ...plugins import BuildContext
from ...sigv4 import SigV4Error, sigv4_auth
from ...statetable import Items
from ..base import Prepared, Request, Result, SinkReport
from . import encode
from .config import OTLPConfig
from .limits import CLOUDWATCH_SERVICE, DEFAULT_MAX_AGE
from .pack import Batch, pack
from .starts import StartStore, StartTimes
from .translate import CLOUDWATCH_LIMITS, Translation, Translator
from .transport import Outcome, Sender

NO_RECORDED_VALUE = "stale_marker_as_no_recorded_value"
"""The ``adjusted`` reason of the staleness markers sent as ``NO_RECORDED_VALUE`` points."""


class ConfigurationError(requests.RequestException):
    """The sink cannot send as configured (no Region for CloudWatch's endpoint)."""


class OTLPSink:
    """Pushes samples to one OTLP/HTTP metrics receiver."""

    kind = "otlp"
    default_max_age = DEFAULT_MAX_AGE

    def __init__(
        self,
        config: OTLPConfig,
        context: BuildContext,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.name = f"otlp/{config.display_name}"
        self.context = context
        self.max_concurrency = context.max_concurrent_requests
        assert config.staleness is not None  # filled in by resolve()
        self.translator = Translator(
            CLOUDWATCH_LIMITS if config.cloudwatch is not None else None, config.staleness
        )
        table = context.settings.state_table
        store = StartStore(Items(context.aws.bounded("dynamodb"), table)) if table else None
        self.starts = StartTimes(self.name, store, clock, workers=context.max_concurrent_requests)
        self.clock = clock
        self._session = session
        self._owns_session = session is None
        self._session_lock = threading.Lock()
        self._sleep = sleep
        self._rng = rng

    # -- translation -------------------------------------------------------------------------

    def prepare(self, samples: Sequence[Sample], report: SinkReport) -> Prepared:
        """The cycle's points; their requests come out of the state step (start times).
        Staleness markers sent as ``NO_RECORDED_VALUE`` points are counted in ``adjusted``."""
        translation = self.translator.translate(samples, int(self.clock() * 1000))
        report.dropped.update(translation.dropped)
        if translation.markers:
            report.adjusted[NO_RECORDED_VALUE] += translation.markers
        return Prepared(settle=partial(self._settle, translation))

    def _settle(self, translation: Translation, deadline: Deadline, report: SinkReport) -> list[Request]:
        self.starts.settle(translation.unstarted(), deadline, report)
        config = self.config
        assert config.max_data_points_per_request and config.max_request_size  # filled in by resolve()
        batches, dropped = pack(
            translation.points, config.max_data_points_per_request, config.max_request_size
        )
        report.dropped.update(dropped)
        compression = config.compression
        return [
            Request(batch.samples, make=partial(Batch.body, batch, compression), chain=number)
            for number, batch in enumerate(batches)
        ]

    def forget(self, refs: Iterable[SeriesRef]) -> None:
        self.translator.series.forget(refs)

    def load(self, body: bytes, samples: int, chain: int) -> Request:
        return Request(samples, body=body, chain=chain)

    # -- transport ---------------------------------------------------------------------------

    def endpoint(self) -> str:
        config = self.config
        if config.endpoint is not None:
            return config.endpoint
        assert config.cloudwatch is not None
        found = config.cloudwatch.endpoint(self.context.aws.session().region_name)
        if found is None:
            raise ConfigurationError(
                "cloudwatch: no region configured and none in the environment (AWS_REGION)"
            )
        return found

    def auth(self) -> requests.auth.AuthBase | None:
        """The request authentication configured, with secrets resolved."""
        config = self.config
        if config.cloudwatch is not None:
            return sigv4_auth(config.cloudwatch.sigv4, self.context.aws, CLOUDWATCH_SERVICE)
        if config.sigv4 is not None:
            return sigv4_auth(config.sigv4, self.context.aws, CLOUDWATCH_SERVICE)
        return request_auth(config.basic_auth, config.authorization, self.context.secrets)

    def session(self) -> requests.Session:
        with self._session_lock:
            if self._session is None:
                self._session = new_session(
                    self.config.tls_config, self.max_concurrency, self.context.secrets
                )
            return self._session

    def close(self) -> None:
        with self._session_lock:
            if self._owns_session and self._session is not None:
                self._session.close()
                self._session = None

    def deliver(self, requests: Sequence[Request], deadline: Deadline, report: SinkReport) -> list[Result]:
        """Requests go out concurrently (they are independent); once one fails (the receiver is
        down, or the deadline came), those not yet started are skipped."""
        try:
            sender = Sender(
                self.config, self.endpoint(), self.auth(), self.session(), sleep=self._sleep, rng=self._rng
            )
        except (credentials.SecretError, SigV4Error, ConfigurationError) as exc:
            return [Result("failed", f"not sent: {exc}")] * len(requests)
        results = [Result("skipped", "not sent: an earlier request failed")] * len(requests)
        down = threading.Event()

        def run(index: int) -> None:
            if down.is_set():
                return
            request = requests[index]
            outcome = sender.send(request.body(), deadline)
            results[index] = _result(outcome, request)
            if outcome.status == "failed":
                down.set()

        if requests:
            with ThreadPoolExecutor(
                min(self.max_concurrency, len(requests)), thread_name_prefix="otlp"
            ) as pool:
                list(pool.map(run, range(len(requests))))
        return results


def _result(outcome: Outcome, request: Request) -> Result:
    """The delivery's view of an outcome: a partial success refuses its share of the samples."""
    if outcome.status != "sent":
        return Result(outcome.status, outcome.error)
    if not outcome.refused:
        return Result("sent", f"the receiver warned: {outcome.message}" if outcome.message else None)
    refused = _refused_samples(request, outcome.refused)
    message = outcome.message or "no reason given"
    return Result("sent", f"{outcome.refused} data points refused: {message}", refused=refused)


def _refused_samples(request: Request, points: int) -> int:
    """The samples behind ``points`` refused data points of ``request``: exact when each point is
    one sample (counters, gauges), in proportion otherwise (a histogram's point is many)."""
    try:
        total = encode.count_points(_uncompressed(request.body()))
    except ValueError:
        total = 0
    if total <= 0 or points >= total:
        return request.samples
    return min(request.samples, -(-request.samples * points // total))


def _uncompressed(body: bytes) -> bytes:
    try:
        return gzip.decompress(body)
    except (OSError, EOFError):
        return body
