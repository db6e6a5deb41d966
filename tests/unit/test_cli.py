"""The configuration tool's offline commands: validate and schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from scrape_push.cli import main
from scrape_push.config.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_validate_accepts_a_valid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "events" / "demo-config.yaml")]) == 0
    assert capsys.readouterr().out.endswith("demo-config.yaml: valid (1 jobs, 1 static targets)\n")


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


def test_cost_estimates_a_configuration_from_a_saved_exposition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, exposition = tmp_path / "config.yaml", tmp_path / "node.txt"
    config.write_text("cloudwatch: [{namespace: Cost}]\n")
    exposition.write_text("# TYPE a_total counter\na_total 1\nb 2\n")
    assert main(["cost", "--config", str(config), "--exposition", str(exposition)]) == 0
    out = capsys.readouterr().out
    assert "sink cloudwatch/Cost (mode api)" in out
    assert "2 metrics" in out
