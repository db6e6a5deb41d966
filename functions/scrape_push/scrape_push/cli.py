"""scrape-push: validate, push, show and try configurations (also: python -m scrape_push).

  scrape-push validate config.yaml [more fragments...]
  scrape-push push config.yaml --parameter /scrape-push/config [--secure] [--tier Advanced]
  scrape-push show --parameter /scrape-push/config
  scrape-push run config.yaml [--jobs node,api]
  scrape-push cost --config config.yaml [--scrape | --exposition saved.txt] [--otlp-usd-per-gb 0.5]
  scrape-push schema > scrape-push.schema.json
  scrape-push backlog --bucket BUCKET [--rejected] [--item KEY]

Every error is one line on stderr naming the file, key path or option at fault.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import yaml

from . import aws
from .config.errors import ConfigError, ConfigLoadError, FieldError
from .config.schema import effective, json_schema
from .config.source import LoadedConfig, parse_config, parse_fragments, runnable
from .config.values import parse_duration
from .deadline import Deadline
from .invoke import EventError, selected_jobs
from .model import Sample
from .parse import ParseError
from .runtime import RUNTIME
from .scrape import SeriesCache
from .summary import summarise
from .targets import build_targets

PARAMETER_TIER_BYTES = {"Standard": 4096, "Advanced": 8192, "Intelligent-Tiering": 8192}
"""SSM Parameter Store value size limits per tier (Intelligent-Tiering may pick Advanced)."""
DEFAULT_TIER = "Intelligent-Tiering"
"""The tier the template creates the configuration parameter in: Standard (free) while the
value fits 4 KB, Advanced beyond."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXIT_INTERNAL = 70
"""sysexits.h EX_SOFTWARE: a bug, reported in one line all the same."""
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""What a shell reports for a process ended by SIGPIPE (``scrape-push cost ... | head``)."""


class UserError(Exception):
    """Input the user can fix (a file, an option): one line on stderr, exit 2."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _load_files(paths: Sequence[Path]) -> LoadedConfig:
    if len(paths) == 1:
        return parse_config(_read(paths[0]), str(paths[0]))
    fragments = [(str(p), _read(p)) for p in paths]
    return parse_fragments(fragments, ", ".join(str(p) for p in paths))


def _report(error: ConfigError, out: TextIO) -> int:
    print(f"{error.source or 'configuration'}: {len(error.problems)} problem(s)", file=out)
    for problem in error.problems:
        print(f"  {problem}", file=out)
    return EXIT_INVALID


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = runnable(_load_files(args.files))
    config = loaded.config
    targets = sum(len(g.targets) for job in config.scrape_configs for g in job.static_configs)
    jobs, sinks = len(config.scrape_configs), config.sink_count
    warned = f", {len(loaded.warnings)} warning(s)" if loaded.warnings else ""
    print(f"{loaded.source}: valid ({jobs} jobs, {targets} static targets, {sinks} sinks{warned})")
    for warning in loaded.warnings:
        print(f"  warning: {warning}")
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    text = _read(args.file)
    runnable(parse_config(text, str(args.file)))
    size, limit = len(text.encode()), PARAMETER_TIER_BYTES[args.tier]
    if size > limit:
        bigger = "use --tier Advanced or " if limit < max(PARAMETER_TIER_BYTES.values()) else ""
        print(
            f"{args.file}: {size} bytes is over the {args.tier} tier's {limit} bytes; {bigger}split the "
            "configuration over a parameter path (one fragment per parameter)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    kind = "SecureString" if args.secure else "String"
    RUNTIME.aws.client("ssm").put_parameter(
        Name=args.parameter, Value=text, Overwrite=True, Tier=args.tier, Type=kind
    )
    print(f"{args.parameter}: updated ({size} bytes, {kind}, {args.tier})")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    try:
        loaded = RUNTIME.config.load(args.parameter)
    except ConfigLoadError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    print(f"# {loaded.source} (digest {loaded.digest}): every default filled in, limits not shown are off,")
    print("# secrets masked")
    for warning in loaded.warnings:
        print(f"# warning: {warning}")
    print(yaml.safe_dump(effective(loaded.config), sort_keys=False), end="")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    loaded = runnable(_load_files(args.files))
    names = [j for j in args.jobs.split(",") if j] if args.jobs else None
    try:  # the rule the Lambda applies to an event's "jobs"
        jobs = None if names is None else selected_jobs({"jobs": names}, loaded.config)
    except EventError as exc:
        raise UserError(f"--jobs: {exc}") from None
    cycle = RUNTIME.pipeline(loaded, jobs).run(Deadline.after(args.timeout))
    summary = summarise(cycle, loaded, jobs, RUNTIME.scrubber)
    json.dump(summary, sys.stdout, indent=2)
    print()
    return EXIT_OK if summary["ok"] else EXIT_INVALID


def cmd_cost(args: argparse.Namespace) -> int:
    from .sinks.cloudwatch import cost  # noqa: PLC0415 (only this command needs the CloudWatch sink)
    from .sinks.cloudwatch.config import CloudWatchConfig  # noqa: PLC0415
    from .sinks.otlp.config import OTLPConfig  # noqa: PLC0415

    loaded = _load_files([args.config])
    sinks = loaded.config.sinks_of(CloudWatchConfig)
    through_otlp: list[str | None] = [
        f"otlp/{o.display_name}" for o in loaded.config.sinks_of(OTLPConfig) if o.cloudwatch
    ]
    if not sinks and not through_otlp:
        raise UserError(
            f"{args.config}: the configuration has no cloudwatch sink and no otlp sink with cloudwatch"
        )
    if not args.scrape and not args.exposition:
        raise UserError("nothing to count: pass --scrape or --exposition FILE")
    now_ms = int(time.time() * 1000)
    samples: list[Sample] = []
    sources = []
    if args.scrape:
        sources.append(_scrape_once(loaded, samples))
    for path in args.exposition:
        samples.extend(_exposition(path, now_ms))
        sources.append(f"read {path}")
    estimates = [cost.estimate(sink, samples, now_ms) for sink in sinks]
    otlp = [cost.otlp_estimate(name, samples, now_ms) for name in through_otlp or [None]]
    source = ", ".join(sources)
    print(
        cost.render(
            estimates,
            otlp,
            args.interval,
            samples=len(samples),
            source=source,
            usd_per_gb=args.otlp_usd_per_gb,
        )
    )
    return EXIT_OK


def _scrape_once(loaded: LoadedConfig, samples: list[Sample]) -> str:
    pipeline = RUNTIME.pipeline(loaded, None)
    targets = build_targets(loaded.config, None, pipeline.discoveries).targets
    results = pipeline.scraper.scrape_all(targets, Deadline.after(60))
    for result in results:
        if result.error:
            print(f"warning: {result.target.url}: {result.error}", file=sys.stderr)
        samples.extend(result.samples)
    return f"scraped {len(targets)} target(s)"


def _exposition(path: Path, now_ms: int) -> list[Sample]:
    """A saved ``/metrics`` body's samples, as job ``<file stem>`` and instance ``<path>``."""
    try:
        parsed = SeriesCache().samples(path.read_bytes(), None, now_ms)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ParseError as exc:
        raise UserError(f"{path}: not a Prometheus exposition: {exc}") from None
    target = {"job": path.stem, "instance": str(path)}
    return [
        s._replace(labels=tuple(sorted({**dict(s.labels), **target}.items())), timestamp_ms=now_ms)
        for s in parsed
    ]


def cmd_backlog(args: argparse.Namespace) -> int:
    from .backlog import inspect  # noqa: PLC0415 (only this command reads the bucket)

    client = RUNTIME.aws.client("s3")
    if args.item:
        json.dump(inspect.describe(client, args.bucket, args.item), sys.stdout, indent=2)
        print()
        return EXIT_OK
    found = inspect.folders(client, args.bucket, args.rejected)
    what = "rejected (never replayed)" if args.rejected else "waiting"
    print(f"s3://{args.bucket}: {len(found)} sink folder(s) with data {what}")
    now_ms = time.time() * 1000
    for folder in found:
        oldest = folder.oldest_ms or now_ms
        print(
            f"  {folder.folder:<50} {folder.objects:>6} item(s) {folder.samples:>10} samples "
            f"{folder.bytes:>12} bytes  oldest {(now_ms - oldest) / 1000:,.0f}s ago"
        )
    return EXIT_OK


def cmd_schema(_args: argparse.Namespace) -> int:
    json.dump(json_schema(), sys.stdout, indent=2)
    print()
    return EXIT_OK


def _seconds(text: str) -> float:
    """An argument in seconds (``60``, ``1.5``) or as a Prometheus duration (``1m``)."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text)
        except FieldError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return seconds


def _price(text: str) -> float:
    """A price in USD: a finite number, not negative."""
    try:
        price = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a price in USD such as 0.5, got {text!r}") from None
    if not 0 <= price < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a price of 0 or more, got {text!r}")
    return price


def _files(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a configuration document (YAML or JSON); several are fragments of one configuration",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="scrape-push", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_text: str
    ) -> argparse.ArgumentParser:
        found = sub.add_parser(name, help=help_text, description=help_text)
        found.set_defaults(func=func)
        return found

    _files(command("validate", cmd_validate, "check configuration files, listing every problem"))
    push = command("push", cmd_push, "validate a file and put it into an SSM parameter")
    push.add_argument("file", type=Path, metavar="FILE", help="the configuration document (YAML or JSON)")
    push.add_argument("--parameter", required=True, help="the SSM parameter's name")
    push.add_argument("--secure", action="store_true", help="store as SecureString")
    push.add_argument(
        "--tier",
        choices=sorted(PARAMETER_TIER_BYTES),
        default=DEFAULT_TIER,
        help=f"SSM parameter tier (default {DEFAULT_TIER}, as the template creates it)",
    )
    show = command("show", cmd_show, "print the effective configuration held in SSM")
    show.add_argument("--parameter", required=True, help="a parameter, or a path ending in /")
    run = command("run", cmd_run, "run one cycle locally against configuration files")
    _files(run)
    run.add_argument("--jobs", help="comma-separated job names (default: all)")
    run.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="DURATION",
        help="time for the whole cycle (default 60s)",
    )
    cost = command(
        "cost",
        cmd_cost,
        "estimate the CloudWatch custom metrics and monthly cost of a configuration, and its volume "
        "through CloudWatch's OTLP endpoint",
    )
    cost.add_argument(
        "--config", required=True, type=Path, metavar="FILE", help="the configuration document (YAML or JSON)"
    )
    cost.add_argument("--scrape", action="store_true", help="scrape every configured target once")
    cost.add_argument(
        "--exposition",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a saved /metrics body (repeatable)",
    )
    cost.add_argument(
        "--interval",
        type=_seconds,
        default=60.0,
        metavar="DURATION",
        help="the schedule's interval (default 1m)",
    )
    cost.add_argument(
        "--otlp-usd-per-gb",
        type=_price,
        default=None,
        metavar="USD",
        help="price per GB of OTLP metrics ingested in your Region (no default: see docs/otlp.md)",
    )
    backlog = command("backlog", cmd_backlog, "what waits in (or was refused from) a backlog bucket")
    backlog.add_argument("--bucket", required=True, help="the stack's BacklogBucketName output")
    backlog.add_argument("--rejected", action="store_true", help="list refused requests instead")
    backlog.add_argument("--item", help="show one object's header (its key)")
    command("schema", cmd_schema, "print the configuration's JSON Schema")
    return top


def _aws_problem(exc: Exception) -> str:
    from botocore.exceptions import NoCredentialsError, NoRegionError  # noqa: PLC0415 (a botocore error was raised)

    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    return f"AWS: {exc}"


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    where = f"scrape-push {args.command}"
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except ConfigError as exc:
        return _report(exc, sys.stderr)
    except UserError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except aws.call_errors() as exc:
        print(f"{where}: {_aws_problem(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line, with what it was
        print(f"{where}: internal error: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":
    sys.exit(main())
