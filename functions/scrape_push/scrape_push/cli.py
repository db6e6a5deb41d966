"""``scrape-push``: validate, push, show and try configurations (also ``python -m scrape_push``).

scrape-push validate config.yaml [more fragments...]
scrape-push push config.yaml --parameter /scrape-push/config [--secure] [--tier Standard]
scrape-push show --parameter /scrape-push/config
scrape-push run config.yaml [--jobs node,api]
scrape-push cost --config config.yaml [--scrape | --exposition saved.txt]
scrape-push schema > scrape-push.schema.json
scrape-push backlog --bucket BUCKET [--rejected] [--item KEY]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import yaml

from . import aws
from .config import ConfigError, ConfigLoadError, LoadedConfig, load_config, parse_config
from .config.fragments import merge_fragments
from .config.schema import effective, json_schema
from .cycle import run_cycle
from .deadline import Deadline
from .summary import summarise

PARAMETER_TIER_BYTES = {"Standard": 4096, "Advanced": 8192, "Intelligent-Tiering": 8192}
"""SSM Parameter Store value size limits per tier (Intelligent-Tiering may pick Advanced)."""

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _load_files(paths: Sequence[Path]) -> LoadedConfig:
    if len(paths) == 1:
        return parse_config(paths[0].read_text(), str(paths[0]))
    fragments = [(str(p), p.read_text()) for p in paths]
    source = ", ".join(str(p) for p in paths)
    return LoadedConfig(merge_fragments(fragments, source), source, "")


def _report(error: ConfigError, out: TextIO) -> int:
    print(f"{error.source or 'configuration'}: {len(error.problems)} problem(s)", file=out)
    for problem in error.problems:
        print(f"  {problem}", file=out)
    return EXIT_INVALID


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        loaded = _load_files(args.files)
    except ConfigError as exc:
        return _report(exc, sys.stderr)
    config = loaded.config
    targets = sum(len(g.targets) for job in config.scrape_configs for g in job.static_configs)
    print(f"{loaded.source}: valid ({len(config.scrape_configs)} jobs, {targets} static targets)")
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    text = args.file.read_text()
    try:
        parse_config(text, str(args.file))
    except ConfigError as exc:
        return _report(exc, sys.stderr)
    size, limit = len(text.encode()), PARAMETER_TIER_BYTES[args.tier]
    if size > limit:
        print(
            f"{args.file}: {size} bytes is over the {args.tier} tier's {limit} bytes; use --tier Advanced "
            "or split the configuration over a parameter path (one fragment per parameter)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    kind = "SecureString" if args.secure else "String"
    aws.client("ssm").put_parameter(
        Name=args.parameter,
        Value=text,
        Overwrite=True,
        Tier=args.tier,
        Type=kind,
    )
    print(f"{args.parameter}: updated ({size} bytes, {kind}, {args.tier})")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(args.parameter)
    except ConfigError as exc:
        return _report(exc, sys.stderr)
    except ConfigLoadError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    print(f"# {loaded.source} (digest {loaded.digest}), every default filled in, secrets masked")
    print(yaml.safe_dump(effective(loaded.config), sort_keys=False), end="")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    try:
        loaded = _load_files(args.files)
    except ConfigError as exc:
        return _report(exc, sys.stderr)
    jobs = [j for j in args.jobs.split(",") if j] if args.jobs else None
    cycle = run_cycle(loaded.config, jobs, Deadline.after(args.timeout))
    summary = summarise(cycle, loaded, jobs)
    json.dump(summary, sys.stdout, indent=2)
    print()
    return EXIT_OK if summary["ok"] else EXIT_INVALID


def cmd_backlog(args: argparse.Namespace) -> int:
    from .backlog import inspect  # noqa: PLC0415 (only this command reads the bucket)

    client = aws.client("s3")
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


def cmd_cost(argv: Sequence[str]) -> int:
    from .sinks.cloudwatch import cost  # noqa: PLC0415 (only this command needs the CloudWatch sink)

    return cost.main(argv)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="scrape-push", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True)
    validate = sub.add_parser(
        "validate", help="check configuration files (several = fragments of one config)"
    )
    validate.add_argument("files", nargs="+", type=Path)
    validate.set_defaults(func=cmd_validate)
    push = sub.add_parser("push", help="validate a file and put it into an SSM parameter")
    push.add_argument("file", type=Path)
    push.add_argument("--parameter", required=True)
    push.add_argument("--secure", action="store_true", help="store as SecureString")
    push.add_argument("--tier", choices=sorted(PARAMETER_TIER_BYTES), default="Standard")
    push.set_defaults(func=cmd_push)
    show = sub.add_parser("show", help="print the effective configuration held in SSM")
    show.add_argument("--parameter", required=True, help="a parameter, or a path ending in /")
    show.set_defaults(func=cmd_show)
    run = sub.add_parser("run", help="run one cycle locally against configuration files")
    run.add_argument("files", nargs="+", type=Path)
    run.add_argument("--jobs", help="comma-separated job names (default: all)")
    run.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole cycle")
    run.set_defaults(func=cmd_run)
    sub.add_parser("cost", help="estimate CloudWatch metrics and monthly cost: cost --config FILE [--scrape]")
    backlog = sub.add_parser("backlog", help="what waits in (or was refused from) a backlog bucket")
    backlog.add_argument("--bucket", required=True, help="the stack's BacklogBucketName output")
    backlog.add_argument("--rejected", action="store_true", help="list refused requests instead")
    backlog.add_argument("--item", help="show one object's header (its key)")
    backlog.set_defaults(func=cmd_backlog)
    schema = sub.add_parser("schema", help="print the configuration's JSON Schema")
    schema.set_defaults(func=cmd_schema)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["cost"]:
        return cmd_cost(arguments[1:])
    args = parser().parse_args(arguments)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
