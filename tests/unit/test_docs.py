"""The documentation stays true: example configurations are valid, the README's cost example is
what the command prints for the files it names, and every document linked exists."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from scrape_push.cli import main
from scrape_push.config.schema import json_schema
from scrape_push.config.source import parse_config, runnable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yaml"))
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_three_common_jobs_have_an_example() -> None:
    assert {p.name for p in EXAMPLES} >= {
        "node-exporter-amp.yaml",
        "node-exporter-cloudwatch.yaml",
        "graphite-tags.yaml",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_a_valid_configuration(path: Path) -> None:
    loaded = runnable(parse_config(path.read_text(), str(path)))
    assert loaded.config.scrape_configs and loaded.config.sinks
    jsonschema.validate(yaml.safe_load(path.read_text()), json_schema())


def test_the_amp_example_signs_and_the_cheap_cloudwatch_one_keeps_costs_down() -> None:
    amp = parse_config((ROOT / "docs/examples/node-exporter-amp.yaml").read_text()).config
    assert amp.sinks["remote_write"][0].sigv4 is not None
    cheap = parse_config((ROOT / "docs/examples/node-exporter-cloudwatch.yaml").read_text()).config.sinks[
        "cloudwatch"
    ][0]
    assert cheap.include and cheap.histograms == "distribution"
    tags = parse_config((ROOT / "docs/examples/graphite-tags.yaml").read_text()).config.sinks["graphite"][0]
    assert tags.mode == "tags"


def test_the_readme_cost_example_is_what_the_command_prints(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("$ .venv/bin/scrape-push cost --config docs/examples/")
    block = readme[start : readme.index("\n```", start)]
    command, shown = block.split("\n", 2)[:2], block.split("\n", 2)[2]
    argv = " ".join(line.strip().rstrip("\\") for line in command).split()[2:]
    assert main(argv) == 0
    assert capsys.readouterr().out.rstrip("\n") == shown.rstrip("\n")


@pytest.mark.parametrize(
    "document",
    [
        "troubleshooting.md",
        "vpc.md",
        "upgrading.md",
        "schedule.md",
        "examples/README.md",
        "prometheus-yml.md",
    ],
)
def test_the_readme_links_every_operating_document(document: str) -> None:
    assert f"](docs/{document}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(document: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
        if "://" not in target:
            assert (document.parent / target).exists(), f"{document.name}: {target}"
