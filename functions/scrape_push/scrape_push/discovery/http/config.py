"""``http_sd_configs[]``: one HTTP discovery endpoint, in Prometheus's format."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config.errors import FieldError
from ...config.values import parse_duration, parse_http_url
from ...httpconfig import HTTPClientConfig

DEFAULT_REFRESH_INTERVAL = 60.0
"""Prometheus's default (``discovery/http``)."""


@dataclass(frozen=True)
class HTTPSDConfig:
    """``http_sd_configs[]``: a URL answering a JSON list of target groups."""

    url: str = field(metadata={"parse": parse_http_url})
    refresh_interval: float = field(default=DEFAULT_REFRESH_INTERVAL, metadata={"parse": parse_duration})
    http: HTTPClientConfig = field(default_factory=HTTPClientConfig, metadata={"inline": True})
    """Prometheus's ``<http_config>`` keys, inline, for the requests to ``url``."""

    def check(self) -> None:
        if self.refresh_interval <= 0:
            raise FieldError("must be greater than 0", "refresh_interval")
