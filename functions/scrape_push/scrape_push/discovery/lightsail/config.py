"""``lightsail_sd_configs[]``: one Lightsail discovery's configuration, in Prometheus's format."""

from __future__ import annotations

from dataclasses import dataclass

from ..awsconfig import AWSSDBase


@dataclass(frozen=True)
class LightsailSDConfig(AWSSDBase):
    """``lightsail_sd_configs[]``: region, endpoint, credentials, port and refresh interval."""
