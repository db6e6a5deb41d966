"""Invoke the real handler in-process the way ``sam local invoke`` does, without Docker.

    python -m devtools.local_invoke -e events/scheduled.json --env-vars events/env.json

``--env-vars`` takes SAM's format: ``{"Parameters": {...}, "ScrapePushFunction": {...}}``; the
function's section overrides ``Parameters``. The context offers what Lambda's does, including
``get_remaining_time_in_millis`` counting down from ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "functions" / "scrape_push"
FUNCTION_ID = "ScrapePushFunction"
DEFAULT_TIMEOUT_SECONDS = 60

LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "scrape-push",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_PARAMETERS_MAX_AGE": "60",
    "AWS_LAMBDA_FUNCTION_NAME": "scrape-push-local",
}


class LocalContext:
    """A stand-in for Lambda's context object with a real, counting-down deadline."""

    def __init__(self, timeout_seconds: float, memory_mb: int = 512) -> None:
        self.function_name = "scrape-push-local"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def env_from_file(path: Path, function_id: str = FUNCTION_ID) -> dict[str, str]:
    """Environment variables for ``function_id`` from a SAM ``--env-vars`` JSON file."""
    data = json.loads(path.read_text())
    merged = {**data.get("Parameters", {}), **data.get(function_id, {})}
    return {k: str(v) for k, v in merged.items()}


def invoke(
    event: Any, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, env: dict[str, str] | None = None
) -> Any:
    """Run ``app.lambda_handler(event, context)`` in this process and return its result."""
    for key, value in LAMBDA_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    os.environ.update(env or {})
    if str(FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTION_DIR))
    import app

    context: Any = LocalContext(timeout_seconds)
    return app.lambda_handler(event, context)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-e", "--event", type=Path, required=True, help="event JSON file")
    parser.add_argument("-n", "--env-vars", type=Path, help="SAM-style environment variables JSON file")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds")
    args = parser.parse_args()
    env = env_from_file(args.env_vars) if args.env_vars else {}
    result = invoke(json.loads(args.event.read_text()), args.timeout, env)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
