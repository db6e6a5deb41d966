"""The function's settings from its environment: the one module that reads environment variables.

The template sets these on the function (``template.yaml``); ``sam local invoke``,
``devtools.local_invoke`` and the tests set them the same way. They are read once, when the
runtime is built (``runtime.Runtime``), and passed down from there. botocore and Powertools read
their own (``AWS_*``, ``POWERTOOLS_*``) as they document, and ``awsenv`` reads botocore's as
botocore does, for the calls made without it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

CONFIG_PARAMETER_ENV = "CONFIG_PARAMETER"
"""SSM parameter holding the configuration, or a path ending in ``/`` (fragments)."""
STATE_TABLE_ENV = "STATE_TABLE"
"""DynamoDB table of CloudWatch counter state and delivery leases (``statetable.py``)."""
BACKLOG_BUCKET_ENV = "BACKLOG_BUCKET"
"""S3 bucket of the durable backlog (``backlog/``); unset: sinks send directly."""
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
"""Namespace of the self-metrics (``selfmetrics.py``)."""
PARAMETERS_MAX_AGE_ENV = "POWERTOOLS_PARAMETERS_MAX_AGE"
"""Seconds a value read from SSM is cached across warm invocations (``ssm.ParameterStore``; the
name of Powertools Parameters' setting, which the function used before)."""
SHARD_QUEUE_URL_ENV = "SHARD_QUEUE_URL"
"""SQS queue of shard messages (``shards/``); unset: every cycle runs in one invocation."""
SHARD_COUNT_ENV = "SHARD_COUNT"
"""Shards per cycle when the configuration's ``runtime.shards`` is not set; 0: automatic."""
SHARD_CONCURRENCY_ENV = "SHARD_MAX_CONCURRENCY"
"""The event source mapping's maximum concurrency: more shards than this wait in the queue."""

NATIVE_ENV = "SCRAPE_PUSH_NATIVE"
"""``off``: use the pure-Python reference of every compiled kernel (``native.py``), even where one
was built; anything else or unset: the compiled kernels where they load."""

PROXY_ENVS = {
    "http_proxy": ("HTTP_PROXY", "http_proxy"),
    "https_proxy": ("HTTPS_PROXY", "https_proxy"),
    "no_proxy": ("NO_PROXY", "no_proxy"),
}
"""The proxy variables ``proxy_from_environment`` uses, upper case first (Go's
``httpproxy.FromEnvironment``). Nothing else uses them: requests takes nothing from the
environment here (sessions do not trust it), as Prometheus."""

DEFAULT_METRICS_NAMESPACE = "ScrapePush/Self"
DEFAULT_PARAMETERS_MAX_AGE = 5
"""Powertools' default (``parameters`` ``DEFAULT_MAX_AGE_SECS``); the template sets 60."""


@dataclass(frozen=True)
class Settings:
    """What the environment tells the function."""

    config_parameter: str | None = None
    state_table: str | None = None
    backlog_bucket: str | None = None
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    parameters_max_age: int = DEFAULT_PARAMETERS_MAX_AGE
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None
    shard_queue_url: str | None = None
    shard_count: int = 0
    shard_concurrency: int | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            config_parameter=env.get(CONFIG_PARAMETER_ENV) or None,
            state_table=env.get(STATE_TABLE_ENV) or None,
            backlog_bucket=env.get(BACKLOG_BUCKET_ENV) or None,
            metrics_namespace=env.get(METRICS_NAMESPACE_ENV) or DEFAULT_METRICS_NAMESPACE,
            parameters_max_age=_count(env.get(PARAMETERS_MAX_AGE_ENV), DEFAULT_PARAMETERS_MAX_AGE),
            shard_queue_url=env.get(SHARD_QUEUE_URL_ENV) or None,
            shard_count=_count(env.get(SHARD_COUNT_ENV), 0),
            shard_concurrency=_count(env.get(SHARD_CONCURRENCY_ENV), 0) or None,
            **{key: _first(env, names) for key, names in PROXY_ENVS.items()},
        )


def native_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the compiled kernels may be used (``NATIVE_ENV``). Read when a kernel is loaded,
    at import, before any ``Settings`` exists."""
    env = os.environ if environ is None else environ
    return env.get(NATIVE_ENV, "").strip().lower() != "off"


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((env[name] for name in names if env.get(name)), None)


def _count(raw: str | None, default: int) -> int:
    """A non-negative whole number from the environment; ``default`` when unset or not one."""
    try:
        return max(0, int(raw)) if raw else default
    except ValueError:
        return default
