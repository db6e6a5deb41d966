"""Fixtures shared by every test: isolation from the developer's AWS setup and reset caches."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from hypothesis import settings
from scrape_push import runtime

# Under CI the property tests draw the same examples at every run (Hypothesis's advice for CI),
# so a submission is judged on what was run before it; elsewhere each run explores afresh.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

SECOND_INTERPRETER = "second-interpreter"
"""The profile of ``make test``'s CPython 3.13 pass (``-p tests.support.capped``, which holds
every property test to its count): the first pass drew each test's full count against the same
code, so this one checks that the Lambda runtime's interpreter computes what that one did, on
examples enough to go through each test's paths, not a second search of the inputs."""
SECOND_INTERPRETER_EXAMPLES = 10
settings.register_profile(
    SECOND_INTERPRETER,
    max_examples=SECOND_INTERPRETER_EXAMPLES,
    derandomize=os.environ.get("CI") == "true",
    database=None,
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real AWS account: fake credentials, a fixed region, no endpoint leaking in."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_ENDPOINT_URL_CLOUDWATCH",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "STATE_TABLE",
        "BACKLOG_BUCKET",
        "CONFIG_PARAMETER",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    _reset()
    yield
    _reset()


def _reset() -> None:
    """``runtime.reset()`` without the full collection it makes of a replaced pipeline: in a
    test process holding thousands of tests' objects, each costs 0.1 s or more of the suite's
    time, and the collector frees the same cycles as it runs between tests. The tests of that
    collection replace the pipeline through invocations, which this does not touch."""
    with patch.object(gc, "collect", return_value=0):
        runtime.reset()
