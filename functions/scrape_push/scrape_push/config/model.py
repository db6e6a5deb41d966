"""The configuration's shape: Prometheus's ``global``/``scrape_configs`` plus sink sections.

Field names, defaults and duration formats follow Prometheus's configuration file so that a
``scrape_configs`` block pasted from prometheus.yml means the same thing here. The sink sections
and a job's ``*_sd_configs`` belong to plugins (``plugins.py``): the decoder fills ``Config.sinks``
and ``ScrapeConfig.discovery`` from the keys the registered plugins serve.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from ..httpconfig import AuthorizationConfig, HTTPClientConfig
from ..negotiation import (
    DEFAULT_SCRAPE_PROTOCOLS,
    PROTO_FIRST_SCRAPE_PROTOCOLS,
    ScrapeProtocol,
    check_protocols,
)
from ..plugins import DISCOVERIES, SINKS, SinkConfig
from ..relabel import RelabelConfig
from .document import join_index, join_key
from .errors import FieldError, raise_all
from .values import check_label_name, parse_duration, parse_size

__all__ = ["Config", "GlobalConfig", "RuntimeConfig", "ScrapeConfig", "StaticConfig"]

T = TypeVar("T")

DEFAULT_SCRAPE_INTERVAL = 60.0
DEFAULT_SCRAPE_TIMEOUT = 10.0
"""Prometheus's ``global`` defaults (config.DefaultGlobalConfig)."""
DEFAULT_BODY_SIZE_LIMIT = 64 * 1024 * 1024
"""Prometheus has no default cap; a Lambda's memory needs one. Override with ``body_size_limit``."""

DEFAULT_MAX_CONCURRENT_SCRAPES = 16
MAX_SHARDS = 1000
"""The most shards a cycle may have: an SQS event source mapping runs at most 1,000 invocations
at once (``ScalingConfig.MaximumConcurrency``, Lambda API reference)."""


def _label_names(labels: dict[str, str]) -> None:
    problems = []
    for name in labels:
        try:
            check_label_name(name)
        except FieldError as exc:
            problems.append(FieldError(str(exc), join_key("", name)))
    raise_all(problems)


def _addresses(targets: tuple[str, ...]) -> None:
    raise_all(
        FieldError("must not be empty", f"[{i}]") for i, target in enumerate(targets) if not target.strip()
    )


def _not_empty(text: str) -> None:
    if not text:
        raise FieldError("must not be empty")


def _absolute_path(path: str) -> None:
    if not path.startswith("/"):
        raise FieldError("must start with '/'")


def _between(low: int, high: int) -> Callable[[int], None]:
    def validate(value: int) -> None:
        if not low <= value <= high:
            raise FieldError(f"must be between {low} and {high}")

    return validate


def _not_negative(value: int) -> None:
    if value < 0:
        raise FieldError("must not be negative (0 means no limit)")


_LIMIT = {"validate": _not_negative, "zero": "no limit"}
"""A Prometheus scrape limit: 0 means none."""
_JOB_LIMIT = {**_LIMIT, "zero": "the global limit; none when that is 0 too"}
"""A job's scrape limit: 0 takes the global one (Prometheus's ``ScrapeConfig.Validate``)."""
_KEEP_DROPPED = {**_LIMIT, "zero": "up to 1000 listed per job"}
_JOB_KEEP_DROPPED = {**_LIMIT, "zero": "the global value; up to 1000 when that is 0 too"}
_PROTOCOLS = {"validate": check_protocols}

ValidationScheme = Literal["legacy", "utf8"]
EscapingScheme = Literal["allow-utf-8", "underscores", "dots", "values"]
_VALIDATION = {"derived": "utf8 (a job: global.metric_name_validation_scheme)"}
_ESCAPING = {"derived": "allow-utf-8 under utf8 validation, underscores under legacy"}


def name_schemes(
    validation: str | None, escaping: str | None, inherited: tuple[str, str] = ("utf8", "")
) -> tuple[str, str]:
    """The validation and escaping schemes in effect, as Prometheus 3.x works them out: an
    unset validation is ``inherited``; an unset escaping is the inherited one if the validation
    was inherited too, else ``allow-utf-8`` under ``utf8`` and ``underscores`` under ``legacy``."""
    effective = validation or inherited[0]
    if not escaping:
        escaping = inherited[1] if not validation and inherited[1] else ""
    if not escaping:
        escaping = "allow-utf-8" if effective == "utf8" else "underscores"
    return effective, escaping


def _check_schemes(schemes: tuple[str, str], key: str) -> None:
    if schemes == ("legacy", "allow-utf-8"):
        raise FieldError(
            "utf8 metric names requested (allow-utf-8) but metric_name_validation_scheme is legacy", key
        )


@dataclass(frozen=True)
class GlobalConfig:
    """``global``: defaults for every job, as in prometheus.yml."""

    scrape_interval: float = field(default=DEFAULT_SCRAPE_INTERVAL, metadata={"parse": parse_duration})
    scrape_timeout: float | None = field(
        default=None, metadata={"parse": parse_duration, "derived": "10s, or scrape_interval when shorter"}
    )
    external_labels: dict[str, str] = field(default_factory=dict, metadata={"validate": _label_names})
    scrape_protocols: tuple[ScrapeProtocol, ...] | None = field(
        default=None,
        metadata={
            **_PROTOCOLS,
            "derived": ", ".join(DEFAULT_SCRAPE_PROTOCOLS)
            + " (PrometheusProto first with native histograms)",
        },
    )
    scrape_native_histograms: bool = field(
        default=False, metadata={"doc": "the jobs' default: read native histograms (protobuf)"}
    )
    always_scrape_classic_histograms: bool = field(
        default=False, metadata={"doc": "the jobs' default: read a native histogram's classic part too"}
    )
    body_size_limit: int = field(
        default=0,
        metadata={"parse": parse_size, "zero": "64MB", "doc": "the jobs' default body_size_limit"},
    )
    sample_limit: int = field(default=0, metadata=_LIMIT)
    label_limit: int = field(default=0, metadata=_LIMIT)
    label_name_length_limit: int = field(default=0, metadata=_LIMIT)
    label_value_length_limit: int = field(default=0, metadata=_LIMIT)
    target_limit: int = field(default=0, metadata=_LIMIT)
    keep_dropped_targets: int = field(default=0, metadata=_KEEP_DROPPED)
    metric_name_validation_scheme: ValidationScheme | None = field(default=None, metadata=_VALIDATION)
    metric_name_escaping_scheme: EscapingScheme | None = field(default=None, metadata=_ESCAPING)

    def check(self) -> None:
        if self.scrape_timeout is not None and self.scrape_timeout > self.interval:
            raise _timeout_error(self.scrape_timeout, self.interval, "scrape_timeout")
        _check_schemes(self.name_schemes(), "metric_name_escaping_scheme")

    def name_schemes(self) -> tuple[str, str]:
        """The metric name validation and escaping schemes of a job that sets neither."""
        return name_schemes(self.metric_name_validation_scheme, self.metric_name_escaping_scheme)

    @property
    def interval(self) -> float:
        return self.scrape_interval or DEFAULT_SCRAPE_INTERVAL

    def resolve(self) -> GlobalConfig:
        """Prometheus's defaults: the timeout is 10s, or the interval when that is shorter; the
        protocols are Prometheus 3.x's default list (a job with native histograms that sets none
        gets the proto-first one: ``ScrapeConfig.resolve_with``)."""
        timeout = self.scrape_timeout or min(DEFAULT_SCRAPE_TIMEOUT, self.interval)
        protocols = self.scrape_protocols or DEFAULT_SCRAPE_PROTOCOLS
        validation, escaping = self.name_schemes()
        return replace(
            self,
            scrape_interval=self.interval,
            scrape_timeout=timeout,
            scrape_protocols=protocols,
            metric_name_validation_scheme=validation,  # type: ignore[arg-type]
            metric_name_escaping_scheme=escaping,  # type: ignore[arg-type]
        )


def _job_protocols(
    job: tuple[ScrapeProtocol, ...] | None, glob: GlobalConfig, native: bool
) -> tuple[ScrapeProtocol, ...]:
    """A job's ``scrape_protocols`` as Prometheus 3.x picks them: its own, else the global ones
    the file sets, else proto-first for native histograms, else the default list. (``glob`` is
    resolved when it comes here: a global list equal to the default counts as not set.)"""
    if job:
        return job
    if glob.scrape_protocols and tuple(glob.scrape_protocols) != DEFAULT_SCRAPE_PROTOCOLS:
        return glob.scrape_protocols
    return PROTO_FIRST_SCRAPE_PROTOCOLS if native else DEFAULT_SCRAPE_PROTOCOLS


def _timeout_error(timeout: float, interval: float, key: str) -> FieldError:
    return FieldError(f"scrape_timeout ({timeout:g}s) is greater than scrape_interval ({interval:g}s)", key)


@dataclass(frozen=True)
class StaticConfig:
    """``static_configs[]``: a list of ``host:port`` targets sharing extra labels."""

    targets: tuple[str, ...] = field(default=(), metadata={"validate": _addresses})
    labels: dict[str, str] = field(default_factory=dict, metadata={"validate": _label_names})


@dataclass(frozen=True)
class ScrapeConfig:
    """``scrape_configs[]``: one job, in Prometheus's format."""

    job_name: str = field(metadata={"validate": _not_empty})
    scrape_interval: float | None = field(
        default=None, metadata={"parse": parse_duration, "derived": "global.scrape_interval"}
    )
    scrape_timeout: float | None = field(
        default=None,
        metadata={
            "parse": parse_duration,
            "derived": "global.scrape_timeout, or scrape_interval when shorter",
        },
    )
    scrape_protocols: tuple[ScrapeProtocol, ...] | None = field(
        default=None, metadata={**_PROTOCOLS, "derived": "global.scrape_protocols"}
    )
    fallback_scrape_protocol: ScrapeProtocol | None = field(
        default=None,
        metadata={"doc": "how to read an answer without a usable Content-Type (default: as text 0.0.4)"},
    )
    scrape_native_histograms: bool | None = field(
        default=None,
        metadata={"derived": "global.scrape_native_histograms", "doc": "read native histograms (protobuf)"},
    )
    always_scrape_classic_histograms: bool | None = field(
        default=None,
        metadata={
            "derived": "global.always_scrape_classic_histograms",
            "doc": "read a native histogram's classic part too",
        },
    )
    scrape_classic_histograms: bool = field(
        default=False, metadata={"doc": "Prometheus 2.45-2.55's name of always_scrape_classic_histograms"}
    )
    native_histogram_bucket_limit: int = field(
        default=0,
        metadata={"validate": _not_negative, "zero": "no limit", "doc": "resolution reduced to fit"},
    )
    native_histogram_min_bucket_factor: float = field(
        default=0.0,
        metadata={"zero": "schema 8, the finest", "doc": "resolution reduced to at most this growth"},
    )
    metrics_path: str = field(default="/metrics", metadata={"validate": _absolute_path})
    scheme: Literal["http", "https"] = "http"
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    track_timestamps_staleness: bool = False
    enable_compression: bool = field(
        default=True, metadata={"doc": "false asks for Accept-Encoding: identity"}
    )
    body_size_limit: int = field(
        default=0,
        metadata={
            "parse": parse_size,
            "derived": "global.body_size_limit, else 64MB",
            "doc": "decompressed size; over it the scrape fails",
        },
    )
    sample_limit: int = field(default=0, metadata=_JOB_LIMIT)
    label_limit: int = field(default=0, metadata=_JOB_LIMIT)
    label_name_length_limit: int = field(default=0, metadata=_JOB_LIMIT)
    label_value_length_limit: int = field(default=0, metadata=_JOB_LIMIT)
    target_limit: int = field(default=0, metadata=_JOB_LIMIT)
    keep_dropped_targets: int = field(default=0, metadata=_JOB_KEEP_DROPPED)
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig, metadata={"inline": True})
    """Prometheus's ``<http_config>`` keys, inline in the job as in prometheus.yml."""
    static_configs: tuple[StaticConfig, ...] = ()
    discovery: dict[str, tuple[Any, ...]] = field(default_factory=dict, metadata={"plugins": DISCOVERIES})
    """Each ``<name>_sd_configs`` key the job sets (in key order) -> its entries."""
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_name_validation_scheme: ValidationScheme | None = field(default=None, metadata=_VALIDATION)
    metric_name_escaping_scheme: EscapingScheme | None = field(default=None, metadata=_ESCAPING)
    strict: bool = field(
        default=False,
        metadata={
            "doc": "parse as the format specs say, not as leniently as Prometheus 2.42 (docs/parser.md)"
        },
    )

    def name_schemes(self, glob: GlobalConfig) -> tuple[str, str]:
        """The job's metric name validation and escaping schemes (Prometheus 3.x's inheritance)."""
        return name_schemes(
            self.metric_name_validation_scheme, self.metric_name_escaping_scheme, glob.name_schemes()
        )

    def timing(self, glob: GlobalConfig) -> tuple[float, float]:
        """The job's interval and timeout, inherited from ``global`` as Prometheus does: an unset
        timeout is the global one, or the job's interval when that is shorter."""
        interval = self.scrape_interval or glob.interval
        glob_timeout = glob.scrape_timeout or min(DEFAULT_SCRAPE_TIMEOUT, glob.interval)
        return interval, self.scrape_timeout or min(glob_timeout, interval)

    def resolve_with(self, glob: GlobalConfig) -> ScrapeConfig:
        """The job as it runs: what it leaves unset taken from ``global`` as Prometheus does
        (a limit left at 0 included; ``scrape_protocols`` proto-first with native histograms),
        ``bearer_token`` as the ``authorization`` it stands for."""
        interval, timeout = self.timing(glob)
        http = self.http
        if http.bearer_token is not None:
            http = replace(
                http, authorization=AuthorizationConfig(credentials=http.bearer_token), bearer_token=None
            )
        validation, escaping = self.name_schemes(glob)
        native = (
            glob.scrape_native_histograms
            if self.scrape_native_histograms is None
            else self.scrape_native_histograms
        )
        classic = (
            glob.always_scrape_classic_histograms
            if self.always_scrape_classic_histograms is None
            else self.always_scrape_classic_histograms
        )
        return replace(
            self,
            scrape_interval=interval,
            scrape_timeout=timeout,
            scrape_protocols=_job_protocols(self.scrape_protocols, glob, native),
            scrape_native_histograms=native,
            always_scrape_classic_histograms=classic or self.scrape_classic_histograms,
            body_size_limit=self.body_size_limit or glob.body_size_limit or DEFAULT_BODY_SIZE_LIMIT,
            sample_limit=self.sample_limit or glob.sample_limit,
            label_limit=self.label_limit or glob.label_limit,
            label_name_length_limit=self.label_name_length_limit or glob.label_name_length_limit,
            label_value_length_limit=self.label_value_length_limit or glob.label_value_length_limit,
            target_limit=self.target_limit or glob.target_limit,
            keep_dropped_targets=self.keep_dropped_targets or glob.keep_dropped_targets,
            http=http,
            metric_name_validation_scheme=validation,  # type: ignore[arg-type]
            metric_name_escaping_scheme=escaping,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class RuntimeConfig:
    """``runtime``: how one invocation behaves (not part of Prometheus's format)."""

    max_concurrent_scrapes: int = field(
        default=DEFAULT_MAX_CONCURRENT_SCRAPES, metadata={"validate": _between(1, 256)}
    )
    max_concurrent_requests: int = field(default=4, metadata={"validate": _between(1, 64)})
    shards: int = field(
        default=0,
        metadata={
            "validate": _between(0, MAX_SHARDS),
            "zero": "the function's ShardCount, else automatic",
            "doc": "invocations a cycle is split over (docs/scaling.md)",
        },
    )
    staleness_record: bool = field(
        default=True,
        metadata={
            "doc": "keep each target's series in the state table: staleness markers after a cold start"
        },
    )


@dataclass(frozen=True)
class Config:
    """The whole document held in the SSM parameter."""

    global_: GlobalConfig = field(default_factory=GlobalConfig, metadata={"key": "global"})
    scrape_configs: tuple[ScrapeConfig, ...] = ()
    sinks: dict[str, tuple[SinkConfig, ...]] = field(default_factory=dict, metadata={"plugins": SINKS})
    """Each sink section the document fills (in section order) -> its entries."""
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def sinks_of(self, kind: type[T]) -> tuple[T, ...]:
        """The sinks configured by ``kind``, one plugin's configuration dataclass, in order."""
        return tuple(sink for entries in self.sinks.values() for sink in entries if isinstance(sink, kind))

    @property
    def sink_count(self) -> int:
        """How many sinks the configuration has, of every kind."""
        return sum(len(entries) for entries in self.sinks.values())

    def check(self) -> None:
        raise_all([*self._duplicate_jobs(), *self._duplicate_sinks(), *self._timeouts(), *self._schemes()])

    def _schemes(self) -> Iterator[FieldError]:
        for index, job in enumerate(self.scrape_configs):
            try:
                _check_schemes(
                    job.name_schemes(self.global_), f"scrape_configs[{index}].metric_name_escaping_scheme"
                )
            except FieldError as exc:
                yield exc

    def _duplicate_jobs(self) -> Iterator[FieldError]:
        first: dict[str, int] = {}
        for index, job in enumerate(self.scrape_configs):
            seen = first.setdefault(job.job_name, index)
            if seen != index:
                yield FieldError(
                    f"duplicate job_name {job.job_name!r}",
                    f"scrape_configs[{index}].job_name",
                    first=f"scrape_configs[{seen}].job_name",
                )

    def _duplicate_sinks(self) -> Iterator[FieldError]:
        names = [
            (join_index(section, index), sink.display_name)
            for section, entries in self.sinks.items()
            for index, sink in enumerate(entries)
        ]
        first: dict[str, str] = {}
        for key, sink_name in names:
            if not sink_name:  # an entry without a destination, reported as such
                continue
            seen = first.setdefault(sink_name, key)
            if seen != key:
                yield FieldError(
                    f"duplicate sink name {sink_name!r}; give each a distinct 'name'",
                    f"{key}.name",
                    first=seen,
                )

    def _timeouts(self) -> Iterator[FieldError]:
        for index, job in enumerate(self.scrape_configs):
            interval, timeout = job.timing(self.global_)
            if job.scrape_timeout is not None and timeout > interval:
                yield _timeout_error(timeout, interval, f"scrape_configs[{index}].scrape_timeout")

    def resolve(self) -> Config:
        """Every job with the interval, timeout and body size limit it runs with."""
        glob = self.global_.resolve()
        jobs = tuple(job.resolve_with(glob) for job in self.scrape_configs)
        return replace(self, global_=glob, scrape_configs=jobs)
