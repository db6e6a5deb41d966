"""``ec2_sd_configs``: EC2 instances as scrape targets, with Prometheus's ``__meta_ec2_*`` labels.

``config.py`` is the configuration (imported when a document uses the key); ``instances.py``
asks EC2 (boto3's EC2 client and model load only when a job that uses it is discovered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import DiscoveryPlugin, register_discovery
from .config import EC2SDConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from .. import Discoverer


def _build(config: EC2SDConfig, context: BuildContext) -> Discoverer:
    from .instances import EC2Discoverer  # noqa: PLC0415 (boto3's EC2 model loads only when used)

    return EC2Discoverer(config, context)


register_discovery(DiscoveryPlugin("ec2_sd_configs", EC2SDConfig, _build))
