"""``cloudmap_sd_configs``: the instances registered in AWS Cloud Map (ECS Service Connect,
service discovery) as scrape targets, with ``__meta_cloudmap_*`` labels.

``config.py`` is the configuration (imported when a document uses the key); ``instances.py``
asks Cloud Map (boto3's model loads only when a job that uses it is discovered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import DiscoveryPlugin, register_discovery
from .config import CloudMapSDConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from .. import Discoverer


def _build(config: CloudMapSDConfig, context: BuildContext) -> Discoverer:
    from .instances import CloudMapDiscoverer  # noqa: PLC0415 (boto3's Cloud Map model loads only when used)

    return CloudMapDiscoverer(config, context)


register_discovery(DiscoveryPlugin("cloudmap_sd_configs", CloudMapSDConfig, _build))
