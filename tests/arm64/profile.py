"""A pytest plugin for the differential tests' run on the arm64 interpreter (``-p
tests.arm64.profile --hypothesis-profile=arm64``): Hypothesis's settings there.

It also refuses to run on protobuf's pure-Python implementation: that one decodes every NaN as
the quiet NaN, so the tests that decode the requests sent would see staleness markers lost that
the function did send (protobuf's compiled module needs the sysroot's libstdc++).

Emulation runs each example several times slower than the host, so the per-example deadline
and the too-slow health check, which measure time, are off; what is drawn is as under CI on the
host (the same examples at every run there), and no example database is written into the tree.
Every property test is held to the profile's count (``tests.support.capped``).
"""

from __future__ import annotations

import os

import pytest
from google.protobuf.internal import api_implementation
from hypothesis import HealthCheck, settings

from tests.support.capped import pytest_collection_modifyitems  # noqa: F401 (this plugin's hook too)

ARM64_EXAMPLES = 5
"""Examples a property test draws there: the host's run draws its full count against the same
code, so the arm64 run is a check that the artifact Lambda loads computes what this machine's
build does, not a second search (a hundred examples a test under emulation would take CI past
its time)."""

ARM64_QUICK_EXAMPLES = 2
"""The same in ``make test``'s quick run (tests/arm64/test_artifact.py, ``QUICK_ENV``)."""

settings.register_profile(
    "arm64",
    deadline=None,
    max_examples=ARM64_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
    database=None,
)
settings.register_profile("arm64-quick", settings.get_profile("arm64"), max_examples=ARM64_QUICK_EXAMPLES)


def pytest_configure(config: pytest.Config) -> None:
    kind = api_implementation.Type()
    if kind != "upb":
        raise pytest.UsageError(
            f"protobuf runs its {kind} implementation on arm64, not upb: its compiled module did not "
            "load (devtools/arm64.py: the sysroot's packages)"
        )
