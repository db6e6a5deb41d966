"""The one owner of what a warm function keeps between invocations.

A Lambda execution environment runs one invocation at a time and may be reused for thousands
of them, so everything that makes a warm invocation cheap lives here, in one object with one
``reset``:

* the settings read from the environment (``settings.Settings``);
* the AWS clients (``aws.AwsClients``) and the invocation's deadline they honour;
* the SSM reader (``ssm.ParameterStore``: its values cached, its HTTPS connection kept);
* the configuration source (SSM, decoded configurations, the last valid one);
* the secret values to scrub from whatever leaves the process, and the resolver of secrets
  kept in SSM;
* exactly one ``Pipeline`` slot, keyed by the configuration's digest, the job selection and the
  shard (``shards/``; 0 for a planner and a cycle that is not split): a changed configuration,
  selection or shard builds a new pipeline (and closes the old one's connections); an unchanged
  one keeps its scraper, series caches, sinks and discoveries warm. One slot, not one per shard,
  so a worker holds one shard's series caches at most: Lambda gives a shard's message to any free
  execution environment, and one that served another shard before starts this one cold.

``RUNTIME`` is the process's runtime, and the only module-level mutable state of the package.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .aws import AwsClients
from .config.source import ConfigSource, LoadedConfig
from .credentials import Scrubber, SecretResolver
from .pipeline import FreezeGate, Pipeline
from .plugins import BuildContext
from .settings import Settings
from .ssm import ParameterStore

PipelineKey = tuple[str, tuple[str, ...] | None, int, bool]
"""(configuration digest, job selection, shard, sharded): what a pipeline is built for."""


@dataclass
class _Warm:
    """What the runtime builds from the settings (again when they change)."""

    settings: Settings
    parameters: ParameterStore
    secrets: SecretResolver
    config: ConfigSource
    pipeline: tuple[PipelineKey, Pipeline] | None = None


class Runtime:
    """The process's warm state (see the module docstring). Built on first use, so that what it
    reads from the environment is what the first invocation sees."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._given = settings
        self.scrubber = Scrubber()
        """Kept across ``reset`` (the log formatter holds it); emptied by it."""
        self._lock = threading.RLock()
        self._aws: AwsClients | None = None
        self._warm: _Warm | None = None
        self.freeze_gate = FreezeGate()
        """Whether the pipeline's warm state is frozen out of the collector's walks."""
        self.kernels_reported: dict[str, str] = {}
        """``native.STATUS`` as the log last reported it (``invoke``): each kernel is logged once."""

    def start_invocation(self) -> None:
        """Read the environment for the invocation that starts: Lambda's never changes within an
        execution environment, but the local runner's and the tests' may, and what depends on
        it (the configuration source, the secrets, the pipeline) is then built afresh."""
        settings = self._given or Settings.from_environment()
        with self._lock:
            if self._warm is not None and self._warm.settings != settings:
                self._forget_warm()
        self._ready(settings)

    def _ready(self, settings: Settings | None = None) -> _Warm:
        with self._lock:
            if self._warm is None:
                found = settings or self._given or Settings.from_environment()
                parameters = ParameterStore(self.aws)
                self._warm = _Warm(
                    found,
                    parameters,
                    SecretResolver(parameters, self.scrubber, found.parameters_max_age),
                    ConfigSource(parameters, found.parameters_max_age),
                )
            return self._warm

    @property
    def aws(self) -> AwsClients:
        """The AWS clients (they depend on nothing the settings say)."""
        with self._lock:
            if self._aws is None:
                self._aws = AwsClients()
            return self._aws

    def _close_pipeline(self) -> None:
        if self._warm is not None and self._warm.pipeline is not None:
            self._warm.pipeline[1].close()
            self._warm.pipeline = None
            self.freeze_gate.frozen = False
            # Its state holds reference cycles: collected now (the collector is paused for the
            # invocation, and would freeze them with the next state), not alongside the next.
            gc.collect()

    def _forget_warm(self) -> None:
        self._close_pipeline()
        if self._warm is not None:
            self._warm.parameters.close()
            self._warm = None

    @property
    def settings(self) -> Settings:
        return self._ready().settings

    @property
    def secrets(self) -> SecretResolver:
        return self._ready().secrets

    @property
    def config(self) -> ConfigSource:
        return self._ready().config

    def context(self, loaded: LoadedConfig) -> BuildContext:
        """What the plugins of ``loaded`` are built with."""
        warm = self._ready()
        return BuildContext(
            max_concurrent_requests=loaded.config.runtime.max_concurrent_requests,
            aws=self.aws,
            secrets=warm.secrets,
            settings=warm.settings,
            name_escaping=loaded.config.global_.name_schemes()[1],
        )

    def pipeline(
        self, loaded: LoadedConfig, jobs: Sequence[str] | None, shard: int = 0, *, sharded: bool = False
    ) -> Pipeline:
        """The pipeline of ``loaded``, ``jobs`` and ``shard`` (``sharded``: one shard of a planned
        cycle): the warm one when all are unchanged."""
        key: PipelineKey = (loaded.digest, None if jobs is None else tuple(jobs), shard, sharded)
        with self._lock:
            warm = self._ready()
            if warm.pipeline is not None and warm.pipeline[0] == key:
                return warm.pipeline[1]
            self._close_pipeline()
            self.scrubber.add_secrets_of(loaded.config)
            made = Pipeline(loaded, jobs, self.context(loaded), shard, sharded=sharded)
            warm.pipeline = (key, made)
            return made

    def reset(self) -> None:
        """Forget everything warm: close the pipeline, drop clients, caches and secrets; the
        environment is read again on next use (tests; a process that must start afresh)."""
        with self._lock:
            self._forget_warm()
            self._aws = None
            self.scrubber.clear()
            self.kernels_reported = {}


RUNTIME = Runtime()
"""The process's runtime."""


def reset() -> None:
    """``RUNTIME.reset()``: what the tests' autouse fixture calls before and after each test."""
    RUNTIME.reset()
