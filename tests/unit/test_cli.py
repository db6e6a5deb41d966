"""The configuration tool's offline commands (validate, schema, cost, argument checks): every
answer to bad input is one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from scrape_push.cli import main, parser
from scrape_push.config.schema import json_schema
from scrape_push.config.source import no_sink

ROOT = Path(__file__).resolve().parents[2]


def test_validate_accepts_a_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "events" / "demo-config.yaml")]) == 0
    assert capsys.readouterr().out.endswith("demo-config.yaml: valid (1 jobs, 1 static targets, 1 sinks)\n")


def test_validate_lists_every_error_with_key_path_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scrape_configs:\n  - job_name: a\n    bogus: 1\n  - job_name: b\n    scheme: ftp\n")
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err == (
        f"{bad}: 2 problem(s)\n"
        "  scrape_configs[0].bogus: unknown key (line 3)\n"
        "  scrape_configs[1].scheme: must be one of 'http', 'https', got 'ftp' (line 5)\n"
    )


def test_validate_merges_several_files_as_fragments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("scrape_configs: [{job_name: a}]\n")
    two.write_text("scrape_configs: [{job_name: a}]\n")
    assert main(["validate", str(one), str(two)]) == 1
    assert (
        f"{two}: scrape_configs[0].job_name: job 'a' is already defined in {one}" in capsys.readouterr().err
    )


def test_schema_is_generated_from_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["ScrapeConfig"]["required"] == ["job_name"]


VALID_DOCUMENTS = [ROOT / "events" / "demo-config.yaml"]


@pytest.mark.parametrize("path", VALID_DOCUMENTS, ids=lambda p: p.name)
def test_valid_documents_satisfy_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


@pytest.mark.parametrize(
    "document",
    [
        {"scrape_configs": [{"job_name": "a", "targts": []}]},
        {"scrape_configs": [{"job_name": "a", "scrape_timeout": "10 seconds"}]},
        {"cloudwatch": [{"namespace": "N", "storage_resolution": 5}]},
        {"scrape_configs": [{"metrics_path": "/m"}]},
    ],
)
def test_invalid_documents_fail_the_schema_too(document: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json_schema())


def _cost(tmp_path: Path, config: str, exposition: str, *options: str) -> int:
    """``scrape-push cost`` of a configuration and a saved exposition, both given as text."""
    (tmp_path / "config.yaml").write_text(config)
    (tmp_path / "node.txt").write_text(exposition)
    return main(
        [
            "cost",
            "--config",
            str(tmp_path / "config.yaml"),
            "--exposition",
            str(tmp_path / "node.txt"),
            *options,
        ]
    )


def test_cost_estimates_a_configuration_from_a_saved_exposition_at_an_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = "cloudwatch:\n  - namespace: N\n    dimensions: [job, instance, code]\n"
    assert (
        _cost(
            tmp_path,
            config,
            '# TYPE r counter\nr_total{code="1"} 1\nr_total{code="2"} 2\ng 3\n',
            "--interval",
            "5m",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "3 samples" in out and "8,760 per month" in out
    assert "custom metrics                     3 metrics          0.90" in out


def test_cost_estimates_a_configuration_from_a_saved_exposition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _cost(tmp_path, "cloudwatch: [{namespace: Cost}]\n", "# TYPE a_total counter\na_total 1\nb 2\n") == 0
    )
    out = capsys.readouterr().out
    assert "sink cloudwatch/Cost (mode api)" in out
    assert "2 metrics" in out


def _fails_in_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"scrape-push {argv[0]}: {message}\n"


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.yaml"
    message = f"{missing}: cannot read: No such file or directory"
    _fails_in_one_line(capsys, ["validate", str(missing)], 2, message)
    _fails_in_one_line(capsys, ["push", str(missing), "--parameter", "/p"], 2, message)
    _fails_in_one_line(capsys, ["run", str(missing)], 2, message)
    _fails_in_one_line(capsys, ["cost", "--config", str(missing), "--scrape"], 2, message)


def test_a_file_that_is_not_text_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "config.yaml"
    binary.write_bytes(b"scrape_configs: []\n\xff\xfe")
    _fails_in_one_line(capsys, ["validate", str(binary)], 2, f"{binary}: not UTF-8 text (byte 19)")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing yet\n",
        "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: [h:9100]}]\n",
    ],
    ids=["empty", "only a comment", "jobs but no sink"],
)
def test_a_configuration_that_would_push_nothing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}: 1 problem(s)\n  <document>: {no_sink()}\n"


def test_sinks_without_jobs_are_valid_they_replay_their_backlogs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("cloudwatch: [{namespace: N}]\n")
    assert main(["validate", str(path)]) == 0


def test_run_refuses_an_unknown_job_as_the_lambda_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("scrape_configs: [{job_name: node}]\ncloudwatch: [{namespace: N}]\n")
    message = "--jobs: event names job(s) not in the configuration: nope"
    _fails_in_one_line(capsys, ["run", str(path), "--jobs", "node,nope"], 2, message)


def test_cost_without_anything_to_count_or_a_cloudwatch_sink_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("cloudwatch: [{namespace: N}]\n")
    message = "nothing to count: pass --scrape or --exposition FILE"
    _fails_in_one_line(capsys, ["cost", "--config", str(path)], 2, message)
    path.write_text("graphite: [{address: carbon}]\n")
    message = f"{path}: the configuration has no cloudwatch sink and no otlp sink with cloudwatch"
    _fails_in_one_line(capsys, ["cost", "--config", str(path), "--scrape"], 2, message)
    path.write_text("otlp: [{endpoint: 'https://collector:4318/v1/metrics'}]\n")
    _fails_in_one_line(capsys, ["cost", "--config", str(path), "--scrape"], 2, message)


def test_cost_shows_the_otlp_volume_beside_put_metric_data_and_prices_it_only_when_told(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exposition = '# TYPE r counter\nr_total{code="1"} 1\nr_total{code="2"} 2\ng 3\n'
    assert _cost(tmp_path, "cloudwatch: [{namespace: N}]\n", exposition) == 0
    out = capsys.readouterr().out
    assert "sink cloudwatch/N (mode api)" in out
    assert "the same samples through CloudWatch's OTLP endpoint instead" in out
    assert "data points                         3 points" in out
    assert "not priced: AWS's documentation gives the per-GB model but no figure" in out
    assert "from aws.amazon.com/cloudwatch/pricing with --otlp-usd-per-gb" in out
    assert (
        _cost(tmp_path, "otlp: [{cloudwatch: {region: eu-west-1}}]\n", exposition, "--otlp-usd-per-gb", "0.5")
        == 0
    )
    out = capsys.readouterr().out
    assert "sink cloudwatch" not in out and "sink otlp/cloudwatch-eu-west-1 (OTLP" in out
    gb = float(out.split("bytes")[1].split()[0])
    total = float(out.split("total at $0.5/GB")[1].split()[0])
    assert gb > 0 and total == pytest.approx(gb * 0.5, abs=0.01)
    assert "price per GB: as given with --otlp-usd-per-gb (no AWS figure is built in)" in out


def test_cost_refuses_a_price_that_is_no_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for price in ("-1", "nan", "cheap"):
        with pytest.raises(SystemExit):
            _cost(tmp_path, "cloudwatch: [{namespace: N}]\n", "g 1\n", "--otlp-usd-per-gb", price)
        assert "--otlp-usd-per-gb" in capsys.readouterr().err


def test_cost_names_the_line_of_an_invalid_exposition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cost(tmp_path, "cloudwatch: [{namespace: N}]\n", "a 1\nb{ 2\n") == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"scrape-push cost: {tmp_path / 'node.txt'}: not a Prometheus exposition: line 2: "
    )


def test_an_invalid_configuration_is_reported_by_cost_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("cloudwatch: [{namespace: N, dimensionz: []}]\n")
    assert main(["cost", "--config", str(path), "--scrape"]) == 1
    assert (
        "cloudwatch[0].dimensionz: unknown key; did you mean 'dimensions'? (line 1)"
        in capsys.readouterr().err
    )


def test_aws_commands_without_a_region_say_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    message = "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)"
    _fails_in_one_line(capsys, ["show", "--parameter", "/p"], 1, message)
    path = tmp_path / "config.yaml"
    path.write_text("cloudwatch: [{namespace: N}]\n")
    _fails_in_one_line(capsys, ["push", str(path), "--parameter", "/p"], 1, message)


@pytest.mark.parametrize("value", ["0", "-1", "nope", "inf"])
def test_a_bad_timeout_is_refused_by_the_argument_parser(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "c.yaml", "--timeout", value])
    assert exited.value.code == 2
    assert "argument --timeout" in capsys.readouterr().err


def _helps() -> dict[str, str]:
    top = parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": top.format_help(), **{name: sub.format_help() for name, sub in commands.choices.items()}}


def test_every_command_names_itself_and_explains_every_argument() -> None:
    top = parser()
    (commands,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        assert sub.format_usage().startswith(f"usage: scrape-push {name} "), name
        for action in sub._actions:
            assert action.help, f"{name} {action.dest} has no help"


def test_help_is_plain_text_without_markup() -> None:
    for name, text in _helps().items():
        assert "`" not in text, name


def test_cost_help_is_the_tools_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    assert capsys.readouterr().out.startswith("usage: scrape-push cost ")
