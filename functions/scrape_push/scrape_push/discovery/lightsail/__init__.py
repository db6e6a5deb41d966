"""``lightsail_sd_configs``: Lightsail instances as scrape targets, with Prometheus's
``__meta_lightsail_*`` labels (also the ``lightsail`` role of ``aws_sd_configs``).

``config.py`` is the configuration (imported when a document uses the key); ``instances.py``
asks Lightsail (boto3's Lightsail model loads only when a job that uses it is discovered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import DiscoveryPlugin, register_discovery
from .config import LightsailSDConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from .. import Discoverer


def _build(config: LightsailSDConfig, context: BuildContext) -> Discoverer:
    from .instances import LightsailDiscoverer  # noqa: PLC0415 (boto3's Lightsail model loads only when used)

    return LightsailDiscoverer(config, context)


register_discovery(DiscoveryPlugin("lightsail_sd_configs", LightsailSDConfig, _build))
