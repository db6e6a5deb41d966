"""``remote_write[]``: Prometheus's remote_write section, decoded by the project's config decoder.

Keys and defaults are Prometheus's, so an entry pasted from prometheus.yml means the same thing.
Secrets (``basic_auth.password``, ``authorization.credentials``) may be given inline or as the
name of an SSM SecureString parameter (``password_ssm_parameter``,
``credentials_ssm_parameter``). Queue keys that only make sense for a long-running process
(``capacity``, ``max_shards`` ...) are accepted so pasted configs load, and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from ...backlog.config import BacklogConfig
from ...config.errors import FieldError
from ...config.values import parse_duration
from ...httpconfig import AuthorizationConfig, BasicAuthConfig, TLSConfig, check_headers, parse_sink_url
from ...relabel import RelabelConfig
from ...sigv4 import SigV4Config
from .limits import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_SAMPLES_PER_SEND,
    DEFAULT_METADATA_MAX_SAMPLES_PER_SEND,
    DEFAULT_MIN_BACKOFF,
    DEFAULT_REMOTE_TIMEOUT,
)


@dataclass(frozen=True)
class QueueConfig:
    """``queue_config``: batching and retries."""

    max_samples_per_send: int = DEFAULT_MAX_SAMPLES_PER_SEND
    min_backoff: float = field(default=DEFAULT_MIN_BACKOFF, metadata={"parse": parse_duration})
    max_backoff: float = field(default=DEFAULT_MAX_BACKOFF, metadata={"parse": parse_duration})
    retry_on_http_429: bool = True
    capacity: int | None = field(default=None, metadata={"doc": "accepted and ignored"})
    max_shards: int | None = field(default=None, metadata={"doc": "accepted and ignored"})
    min_shards: int | None = field(default=None, metadata={"doc": "accepted and ignored"})
    batch_send_deadline: float | None = field(
        default=None, metadata={"parse": parse_duration, "doc": "accepted and ignored"}
    )

    def check(self) -> None:
        if self.max_samples_per_send < 1:
            raise FieldError("must be at least 1", "max_samples_per_send")
        if self.min_backoff > self.max_backoff:
            raise FieldError("must not be greater than max_backoff", "min_backoff")


@dataclass(frozen=True)
class MetadataConfig:
    """``metadata_config``: sending metric metadata (type, help, unit)."""

    send: bool = True
    send_interval: float | None = field(
        default=None, metadata={"parse": parse_duration, "doc": "accepted; metadata goes with every cycle"}
    )
    max_samples_per_send: int = DEFAULT_METADATA_MAX_SAMPLES_PER_SEND

    def check(self) -> None:
        if self.max_samples_per_send < 1:
            raise FieldError("must be at least 1", "max_samples_per_send")


@dataclass(frozen=True)
class RemoteWriteConfig:
    """``remote_write[]``: one Remote Write 1.0 receiver."""

    url: str = field(metadata={"parse": parse_sink_url})
    name: str = field(default="", metadata={"derived": "the URL's host and path"})
    remote_timeout: float = field(default=DEFAULT_REMOTE_TIMEOUT, metadata={"parse": parse_duration})
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: BasicAuthConfig | None = None
    authorization: AuthorizationConfig | None = None
    sigv4: SigV4Config | None = None
    tls_config: TLSConfig = field(default_factory=TLSConfig)
    write_relabel_configs: tuple[RelabelConfig, ...] = ()
    queue_config: QueueConfig = field(default_factory=QueueConfig)
    metadata_config: MetadataConfig = field(default_factory=MetadataConfig)
    send_native_histograms: bool = field(
        default=False,
        metadata={"doc": "send native histograms (TimeSeries.histograms); else they are dropped, counted"},
    )
    backlog: BacklogConfig = field(
        default_factory=BacklogConfig, metadata={"doc": "what is kept when the sink cannot be reached"}
    )

    @property
    def display_name(self) -> str:
        """``name``, else the URL's host and path (never credentials: the URL holds none)."""
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        return f"{parts.netloc}{parts.path}"

    def resolve(self) -> RemoteWriteConfig:
        """The name (the URL's host and path unless set) and the backlog's window."""
        return replace(self, name=self.display_name, backlog=self.backlog.with_max_age(DEFAULT_MAX_AGE))

    def check(self) -> None:
        if self.remote_timeout <= 0:
            raise FieldError("must be greater than 0", "remote_timeout")
        check_headers(self.headers)
        given = [k for k in ("basic_auth", "authorization", "sigv4") if getattr(self, k) is not None]
        if len(given) > 1:
            raise FieldError(f"at most one of basic_auth, authorization and sigv4 may be set, got {given}")
