"""What a plugin is built with, for tests that build one on its own (the runtime's services of a
fresh process: clients of the environment the test set, an empty scrubber)."""

from __future__ import annotations

from scrape_push.aws import AwsClients
from scrape_push.credentials import Scrubber, SecretResolver
from scrape_push.plugins import BuildContext
from scrape_push.settings import Settings
from scrape_push.ssm import ParameterStore
from scrape_push.targets import Discoveries


def build_context(max_concurrent_requests: int = 4, settings: Settings | None = None) -> BuildContext:
    clients = AwsClients()
    return BuildContext(
        max_concurrent_requests=max_concurrent_requests,
        aws=clients,
        secrets=SecretResolver(ParameterStore(clients), Scrubber(), max_age=0),
        settings=settings or Settings.from_environment(),
    )


def discoveries() -> Discoveries:
    return Discoveries(build_context())
