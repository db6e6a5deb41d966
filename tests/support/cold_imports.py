"""A ``devtools.handler_runner`` hook (``HOOK_ENV``): after each invocation, which modules of the
AWS SDK's client machinery the handler's process has imported."""

from __future__ import annotations

import sys
from collections.abc import Callable

CLIENT_MACHINERY = (
    "botocore.session",
    "botocore.client",
    "botocore.endpoint",
    "botocore.exceptions",
    "aws_lambda_powertools.utilities.parameters",
)
"""botocore's modules that making a client (or naming its errors) imports, and Powertools
Parameters (which imports boto3)."""


def imported() -> list[str]:
    return sorted(
        name for name in sys.modules if name.partition(".")[0] == "boto3" or name in CLIENT_MACHINERY
    )


def hook(_mode: str) -> Callable[[], dict[str, object]]:
    return lambda: {"imported": imported()}
