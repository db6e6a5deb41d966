"""Lambda entry point: a thin wrapper around ``scrape_push.invoke.handle``."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from scrape_push.credentials import ScrubbingFormatter
from scrape_push.invoke import handle
from scrape_push.runtime import RUNTIME

# Every log line is scrubbed of secret values and URL credentials once formatted.
logger = Logger(service="scrape-push", logger_formatter=ScrubbingFormatter(RUNTIME.scrubber))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    """Scrape the configured targets (or the event's ``jobs``) and push to every sink."""
    return handle(event, context)
