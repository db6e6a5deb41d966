"""The configuration's shape: Prometheus's ``global``/``scrape_configs`` plus sink sections.

Field names, defaults and duration formats follow Prometheus's configuration file so that a
``scrape_configs`` block pasted from prometheus.yml means the same thing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..discovery.ec2 import EC2SDConfig
from ..httpconfig import AuthorizationConfig, BasicAuthConfig, HTTPClientConfig, TLSConfig
from ..relabel import RelabelConfig
from ..sinks.cloudwatch.config import CloudWatchConfig
from .errors import FieldError
from .values import check_label_name, parse_duration, parse_proxy_url, parse_size

__all__ = ["CloudWatchConfig", "Config", "GlobalConfig", "RuntimeConfig", "ScrapeConfig", "StaticConfig"]

DEFAULT_SCRAPE_INTERVAL = 60.0
DEFAULT_SCRAPE_TIMEOUT = 10.0
DEFAULT_BODY_SIZE_LIMIT = 64 * 1024 * 1024
"""Prometheus has no default cap; a Lambda's memory needs one. Override with ``body_size_limit``."""

DEFAULT_MAX_CONCURRENT_SCRAPES = 16


@dataclass(frozen=True)
class GlobalConfig:
    """``global``: defaults for every job, as in prometheus.yml."""

    scrape_interval: float | None = field(default=None, metadata={"parse": parse_duration})
    scrape_timeout: float | None = field(default=None, metadata={"parse": parse_duration})
    evaluation_interval: float | None = field(
        default=None, metadata={"parse": parse_duration, "doc": "accepted and ignored (no rules here)"}
    )
    external_labels: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        for name in self.external_labels:
            check_label_name(name)


@dataclass(frozen=True)
class StaticConfig:
    """``static_configs[]``: a list of ``host:port`` targets sharing extra labels."""

    targets: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        for index, target in enumerate(self.targets):
            if not target.strip():
                raise FieldError("must not be empty", f"targets[{index}]")
        for name in self.labels:
            try:
                check_label_name(name)
            except FieldError as exc:
                raise FieldError(str(exc), f"labels.{name}") from None


@dataclass(frozen=True)
class ScrapeConfig:
    """``scrape_configs[]``: one job, in Prometheus's format."""

    job_name: str
    scrape_interval: float | None = field(default=None, metadata={"parse": parse_duration})
    scrape_timeout: float | None = field(default=None, metadata={"parse": parse_duration})
    metrics_path: str = "/metrics"
    scheme: Literal["http", "https"] = "http"
    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    honor_labels: bool = False
    honor_timestamps: bool = True
    body_size_limit: int = field(default=0, metadata={"parse": parse_size})
    sample_limit: int = 0
    label_limit: int = 0
    label_name_length_limit: int = 0
    label_value_length_limit: int = 0
    follow_redirects: bool = True
    proxy_url: str | None = field(default=None, metadata={"parse": parse_proxy_url})
    basic_auth: BasicAuthConfig | None = None
    authorization: AuthorizationConfig | None = None
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    static_configs: tuple[StaticConfig, ...] = ()
    ec2_sd_configs: tuple[EC2SDConfig, ...] = ()
    relabel_configs: tuple[RelabelConfig, ...] = ()
    metric_relabel_configs: tuple[RelabelConfig, ...] = ()

    def http_client(self) -> HTTPClientConfig:
        """The job's HTTP client settings (authentication, TLS, proxy, redirects)."""
        return HTTPClientConfig(
            self.basic_auth, self.authorization, self.tls_config, self.proxy_url, self.follow_redirects
        )

    def check(self) -> None:
        if not self.job_name:
            raise FieldError("must not be empty", "job_name")
        if not self.metrics_path.startswith("/"):
            raise FieldError("must start with '/'", "metrics_path")
        for limit in ("sample_limit", "label_limit", "label_name_length_limit", "label_value_length_limit"):
            if getattr(self, limit) < 0:
                raise FieldError("must not be negative (0 means no limit)", limit)
        if self.basic_auth is not None and self.authorization is not None:
            raise FieldError("at most one of basic_auth and authorization may be configured", "authorization")


@dataclass(frozen=True)
class RuntimeConfig:
    """``runtime``: how one invocation behaves (not part of Prometheus's format)."""

    max_concurrent_scrapes: int = DEFAULT_MAX_CONCURRENT_SCRAPES
    max_concurrent_requests: int = 4

    def check(self) -> None:
        if not 1 <= self.max_concurrent_scrapes <= 256:
            raise FieldError("must be between 1 and 256", "max_concurrent_scrapes")
        if not 1 <= self.max_concurrent_requests <= 64:
            raise FieldError("must be between 1 and 64", "max_concurrent_requests")


@dataclass(frozen=True)
class Config:
    """The whole document held in the SSM parameter."""

    global_: GlobalConfig = field(default_factory=GlobalConfig, metadata={"key": "global"})
    scrape_configs: tuple[ScrapeConfig, ...] = ()
    cloudwatch: tuple[CloudWatchConfig, ...] = ()
    graphite: tuple[GraphiteConfig, ...] = ()
    remote_write: tuple[RemoteWriteConfig, ...] = ()
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def check(self) -> None:
        seen: set[str] = set()
        for index, job in enumerate(self.scrape_configs):
            if job.job_name in seen:
                raise FieldError(f"duplicate job_name {job.job_name!r}", f"scrape_configs[{index}].job_name")
            seen.add(job.job_name)
        sink_names = [(f"cloudwatch[{i}].name", s.name or s.namespace) for i, s in enumerate(self.cloudwatch)]
        sink_names += [(f"graphite[{i}].name", s.name or s.address) for i, s in enumerate(self.graphite)]
        sink_names += [(f"remote_write[{i}].name", s.display_name) for i, s in enumerate(self.remote_write)]
        names: set[str] = set()
        for key, sink_name in sink_names:
            if sink_name in names:
                raise FieldError(f"duplicate sink name {sink_name!r}; give each a distinct 'name'", key)
            names.add(sink_name)
        for index, job in enumerate(self.scrape_configs):
            interval = job.scrape_interval or self.global_.scrape_interval or DEFAULT_SCRAPE_INTERVAL
            timeout = (
                job.scrape_timeout or self.global_.scrape_timeout or min(DEFAULT_SCRAPE_TIMEOUT, interval)
            )
            if timeout > interval:
                raise FieldError(
                    f"scrape_timeout ({timeout:g}s) is greater than scrape_interval ({interval:g}s)",
                    f"scrape_configs[{index}].scrape_timeout",
                )


# A sink's config lives in the sink's package, which imports this module: imported last, once
# every class above exists, so either side may be imported first.
from ..sinks.graphite.config import GraphiteConfig  # noqa: E402
from ..sinks.remote_write.config import RemoteWriteConfig  # noqa: E402
