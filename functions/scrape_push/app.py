"""Lambda entry point: a thin wrapper around ``scrape_push.invoke.handle``."""

# ruff: noqa: E402 (the imports come after the collector is paused)

import gc

# The imports below make about 200,000 objects and hardly any garbage: the cyclic collector
# would run some 80 times over them (about 20 ms of a cold start's CPU; docs/performance.md).
gc.disable()

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from scrape_push.credentials import ScrubbingFormatter
from scrape_push.invoke import handle
from scrape_push.runtime import RUNTIME

# Every log line is scrubbed of secret values and URL credentials once formatted.
logger = Logger(service="scrape-push", logger_formatter=ScrubbingFormatter(RUNTIME.scrubber))

# What the imports made lives as long as the execution environment: out of the cyclic
# collector's sight (gc.freeze), so that a cold invocation's collections do not walk the
# modules and botocore's models again and again (about 0.1 s of CPU; docs/performance.md).
gc.freeze()
gc.enable()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    """Scrape the configured targets (or the event's ``jobs``) and push to every sink."""
    return handle(event, context)
