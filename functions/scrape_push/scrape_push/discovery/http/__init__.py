"""``http_sd_configs``: targets from an HTTP endpoint answering Prometheus's HTTP SD format.

``config.py`` is the configuration (imported when a document uses the key); ``endpoint.py``
asks the endpoint and reads its answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...plugins import DiscoveryPlugin, register_discovery
from .config import HTTPSDConfig

if TYPE_CHECKING:
    from ...plugins import BuildContext
    from .. import Discoverer


def _build(config: HTTPSDConfig, context: BuildContext) -> Discoverer:
    from .endpoint import HTTPDiscoverer  # noqa: PLC0415 (loaded only when a job uses it)

    return HTTPDiscoverer(config, context)


register_discovery(DiscoveryPlugin("http_sd_configs", HTTPSDConfig, _build))
