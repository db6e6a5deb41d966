"""Invoke the real handler in-process the way ``sam local invoke`` does, without Docker.

    python -m devtools.local_invoke -e events/scheduled.json --env-vars events/env.json
    python -m devtools.local_invoke -e events/scheduled.json --env-vars events/env.json \\
        --endpoint-url http://127.0.0.1:5000 --region us-east-1      # against an emulator

``--env-vars`` takes SAM's format: ``{"Parameters": {...}, "ScrapePushFunction": {...}}``; the
function's section overrides ``Parameters``, and ``--endpoint-url`` / ``--region`` override both
(so the tracked events/env.json never needs editing). The context offers what Lambda's does,
including ``get_remaining_time_in_millis`` counting down from ``--timeout``.

As with ``sam local invoke``, the invocation's result (or Lambda's error object) alone goes to
stdout; the function's log lines and self-metrics go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
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
DEFAULT_MEMORY_MB = 512
"""The template's default ``MemorySize``."""

LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "scrape-push",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_PARAMETERS_MAX_AGE": "60",
    "AWS_LAMBDA_FUNCTION_NAME": "scrape-push-local",
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": "4194304",
}
"""What the template's ``Globals`` give the function (the ``MALLOC_*`` take effect only in
a process started with them, as Lambda starts its runtime: ``devtools.fleet``'s environments,
``devtools.handler_runner`` under ``bench/bench_e2e.py``)."""
NO_REGION = (
    "no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)"
)


class LocalContext:
    """A stand-in for Lambda's context object with a real, counting-down deadline."""

    def __init__(self, timeout_seconds: float, memory_mb: int = DEFAULT_MEMORY_MB) -> None:
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


class UsageError(Exception):
    """A file or option the user can fix: one line on stderr."""


def env_from_file(path: Path, function_id: str = FUNCTION_ID) -> dict[str, str]:
    """Environment variables for ``function_id`` from a SAM ``--env-vars`` JSON file."""
    data = _json(path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object of environment variables")
    merged = {**data.get("Parameters", {}), **data.get(function_id, {})}
    return {k: str(v) for k, v in merged.items()}


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON: {exc}") from None


def invoke(
    event: Any,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    env: dict[str, str] | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Any:
    """Run ``app.lambda_handler(event, context)`` in this process and return its result.

    Everything the function prints (its log, its EMF self-metrics) goes to stderr, as Lambda's
    log is not the invocation's result."""
    for key, value in LAMBDA_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    os.environ.update(env or {})
    if str(FUNCTION_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTION_DIR))
    with contextlib.redirect_stdout(sys.stderr):
        import app  # its loggers write to the stdout of the moment: stderr

        context: Any = LocalContext(timeout_seconds, memory_mb)
        return app.lambda_handler(event, context)


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(
        prog="python -m devtools.local_invoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    found.add_argument("-e", "--event", type=Path, required=True, help="event JSON file")
    found.add_argument("-n", "--env-vars", type=Path, help="SAM-style environment variables JSON file")
    found.add_argument("--endpoint-url", help="send every AWS call here (an emulator such as moto)")
    found.add_argument("--region", help="AWS region (default: your AWS settings')")
    found.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds")
    return found


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        env = env_from_file(args.env_vars) if args.env_vars else {}
        event = _json(args.event)
    except UsageError as exc:
        print(f"local_invoke: {exc}", file=sys.stderr)
        return 2
    if args.endpoint_url:
        env["AWS_ENDPOINT_URL"] = args.endpoint_url
    if args.region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = args.region
    os.environ.update(env)
    import boto3  # here only: the handler's runner imports this module for LocalContext

    if boto3.session.Session().region_name is None:
        print(f"local_invoke: {NO_REGION}", file=sys.stderr)
        return 2
    try:
        result = invoke(event, args.timeout, env)
    except Exception as exc:  # what Lambda returns for a failed invocation, and one line
        json.dump({"errorType": type(exc).__name__, "errorMessage": str(exc)}, sys.stdout)
        sys.stdout.write("\n")
        print(f"local_invoke: the invocation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
