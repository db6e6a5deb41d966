"""A pytest plugin that holds every property test to the loaded Hypothesis profile's example
count (``-p tests.support.capped --hypothesis-profile=NAME``): a test's own ``@settings``
outranks the profile, and the kernels' differential tests and the parsers' fuzzers ask for
150 to 200 examples or more.

For the runs that check that an interpreter computes what the first pass's did, not for a
second search of the inputs: the arm64 CPython under qemu (``tests/arm64/profile.py``) and the
CPython 3.13 pass of ``make test`` (``SECOND_INTERPRETER`` in tests/conftest.py). Their
per-example deadline is off too, since how long an example takes there says nothing of the code.
"""

from __future__ import annotations

import pytest
from hypothesis import settings


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cap = settings.default.max_examples  # the profile loaded by --hypothesis-profile
    for item in items:
        test = getattr(item, "obj", None)
        if not hasattr(test, "hypothesis"):
            continue
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if not isinstance(own, settings):
            raise pytest.UsageError(f"{item.nodeid}: Hypothesis keeps its settings elsewhere now")
        if own.max_examples > cap or own.deadline is not None:
            test._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
                own, max_examples=min(own.max_examples, cap), deadline=None
            )
