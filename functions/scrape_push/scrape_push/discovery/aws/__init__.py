"""``aws_sd_configs``: Prometheus's unified AWS discovery. Role ``ec2`` is ``ec2_sd_configs``'s
discoverer and role ``lightsail`` ``lightsail_sd_configs``'s (the same code, the same
``__meta_ec2_*`` and ``__meta_lightsail_*`` labels); role ``ecs`` (``ecs.py``) finds the tasks of
ECS services, with ``__meta_ecs_*`` labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import DiscoveryPlugin, register_discovery
from .config import AWSSDConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from .. import Discoverer


def _build(config: AWSSDConfig, context: BuildContext) -> Discoverer:
    # Each role's modules (and boto3's service models) load only when an entry uses it.
    what = f"aws_sd_configs ({config.role})"
    if config.role == "ec2":
        from ..ec2.instances import EC2Discoverer  # noqa: PLC0415

        return EC2Discoverer(config.as_ec2(), context, what)
    if config.role == "lightsail":
        from ..lightsail.instances import LightsailDiscoverer  # noqa: PLC0415

        return LightsailDiscoverer(config.as_lightsail(), context, what)
    from .ecs import ECSDiscoverer  # noqa: PLC0415

    return ECSDiscoverer(config, context, what)


register_discovery(DiscoveryPlugin("aws_sd_configs", AWSSDConfig, _build))
